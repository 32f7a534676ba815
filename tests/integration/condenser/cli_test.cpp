// raind against a real condenserd: output, JSON, exit codes and the friendly errors.
#include <gtest/gtest.h>

#include <set>

#include "harness.hpp"

using namespace raind::testing;

namespace {
std::string raind_bin() {
  return (bin_dir() / "raind").string();
}
}  // namespace

TEST(Cli, SystemInfoAndPkiEndToEnd) {
  TempDir dir("cli");
  Daemon daemon(dir.path());
  ASSERT_TRUE(daemon.start()) << daemon.output();
  const std::string host = "https://" + daemon.management();
  const std::string pki = daemon.pki_dir().string();

  auto info = run({raind_bin(), "--pki-dir", pki, "--host", host, "system", "info"});
  EXPECT_EQ(info.code, 0) << info.err;
  EXPECT_NE(info.out.find("Server version:"), std::string::npos) << info.out;
  EXPECT_NE(info.out.find("Cgroup mode:"), std::string::npos);
  EXPECT_NE(info.out.find("Iptables backend:"), std::string::npos);
  EXPECT_NE(info.out.find("AppArmor:"), std::string::npos);

  auto json =
      run({raind_bin(), "--host", host, "system", "info", "--json"}, {"RAIND_PKI_DIR=" + pki});
  ASSERT_EQ(json.code, 0) << json.err;
  auto j = nlohmann::json::parse(json.out);
  EXPECT_EQ(j["version"], RAIND_VERSION_FOR_TESTS);
  EXPECT_TRUE(j["cgroup_mode"] == "v1" || j["cgroup_mode"] == "v2" || j["cgroup_mode"] == "hybrid");
  EXPECT_TRUE(j["counts"].contains("containers"));
  EXPECT_TRUE(j["counts"].contains("images"));
  EXPECT_TRUE(j["counts"].contains("policies"));

  auto ls = run({raind_bin(), "--pki-dir", pki, "--host", host, "pki", "ls"});
  EXPECT_EQ(ls.code, 0) << ls.err;
  EXPECT_EQ(ls.out.rfind("KIND", 0), 0u) << ls.out;
  EXPECT_NE(ls.out.find("spiffe://raind/cli/admin"), std::string::npos);

  auto before = nlohmann::json::parse(
      run({raind_bin(), "--pki-dir", pki, "--host", host, "pki", "ls", "--json"}).out);
  auto rot = run({raind_bin(), "--pki-dir", pki, "--host", host, "pki", "rotate"});
  EXPECT_EQ(rot.code, 0) << rot.err;
  EXPECT_NE(rot.out.find("rotated 3 certificates"), std::string::npos) << rot.out;
  // The CLI keeps working with the rotated files, and the server presents its new certificate.
  auto after_json = run({raind_bin(), "--pki-dir", pki, "--host", host, "pki", "ls", "--json"});
  ASSERT_EQ(after_json.code, 0) << after_json.err;
  auto after = nlohmann::json::parse(after_json.out);
  ASSERT_EQ(after.size(), before.size());
  std::set<std::string> old_serials;
  for (const auto& c : before) old_serials.insert(c["serial"].get<std::string>());
  for (const auto& c : after) {
    if (c["kind"] == "ca")
      EXPECT_TRUE(old_serials.contains(c["serial"].get<std::string>()));
    else
      EXPECT_FALSE(old_serials.contains(c["serial"].get<std::string>())) << c.dump();
  }
  auto all = nlohmann::json::parse(
      run({raind_bin(), "--pki-dir", pki, "--host", host, "pki", "ls", "--all", "--json"}).out);
  EXPECT_EQ(all.size(), before.size() + 3);

  auto version = run({raind_bin(), "--version"});
  EXPECT_EQ(version.code, 0);
  EXPECT_NE(version.out.find("raind "), std::string::npos);

  // A daemon refusal becomes the envelope message and a non-zero exit.
  auto bad_host = run({raind_bin(), "--pki-dir", pki, "--host", "ftp://x", "system", "info"});
  EXPECT_NE(bad_host.code, 0);
  EXPECT_EQ(daemon.terminate(), 0);
}

TEST(Cli, NoDaemonPrintsFriendlyErrorAndFails) {
  TempDir dir("cli-nodaemon");
  Daemon daemon(dir.path());
  ASSERT_TRUE(daemon.start()) << daemon.output();
  const std::string host = daemon.management();
  const std::string pki = daemon.pki_dir().string();
  ASSERT_EQ(daemon.terminate(), 0);  // port now closed
  auto r = run({raind_bin(), "--pki-dir", pki, "--host", "https://" + host, "system", "info"});
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.err, "raind: cannot connect to condenserd at " + host + ": is it running?\n");
}

TEST(Cli, UnreadableKeySaysRunWithSudo) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to switch to nobody";
  TempDir dir("cli-perm");
  Daemon daemon(dir.path());
  ASSERT_TRUE(daemon.start()) << daemon.output();
  const std::string pki = daemon.pki_dir().string();
  auto r = run({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", raind_bin(),
                "--pki-dir", pki, "--host", "https://" + daemon.management(), "system", "info"});
  if (r.code == 127 || r.err.find("Permission denied") != std::string::npos)
    GTEST_SKIP() << "nobody cannot execute the test binary here: " << r.err;
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.err,
            "raind: permission denied reading client key " + pki + "/cli.key: run with sudo\n");
}

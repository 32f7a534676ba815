// OCI hooks on real containers: order of the phases, the state on stdin, the hook's env,
// timeouts, and which failures abort (createRuntime/createContainer/startContainer) or only
// warn (poststart/poststop).
#include "droplet_fixture.hpp"

namespace droplet_test {
namespace {

class Hooks : public DropletTest {
 protected:
  // A hook that appends "<phase> <first line of stdin>" to the log file.
  json hook(const std::string& phase, const std::string& extra = "") {
    auto log = (dir_ / "hooks.log").string();
    return {
        {"path", "/bin/sh"},
        {"args",
         {"sh", "-c", "read -r state; echo \"" + phase + " $state $HOOKVAR\" >> " + log + extra}},
        {"env", {"HOOKVAR=" + phase + "-env"}}};
  }
  std::vector<std::string> log_lines() {
    std::vector<std::string> out;
    std::istringstream in(read_text(dir_ / "hooks.log"));
    std::string line;
    while (std::getline(in, line)) out.push_back(line);
    return out;
  }
};

TEST_F(Hooks, PhasesRunInOrderWithStateOnStdin) {
  auto c = default_config({});
  c["hooks"] = {
      {"prestart", {hook("prestart")}},
      {"createRuntime", {hook("createRuntime")}},
      {"createContainer", {hook("createContainer")}},
      {"startContainer",
       {{{"path", "/bin/sh"},
         {"args", {"sh", "-c", "read -r s; echo \"startContainer $s $(hostname)\" > /started"}}}}},
      {"poststart", {hook("poststart")}},
      {"poststop", {hook("poststop")}}};
  write_config({"sh", "-c", "sleep 0.3; cat /started"}, c);
  auto r = run_container("h1");
  ASSERT_EQ(r.code, 0) << r.err;
  auto lines = log_lines();
  ASSERT_EQ(lines.size(), 5u) << read_text(dir_ / "hooks.log");
  const char* order[] = {"prestart", "createRuntime", "createContainer", "poststart", "poststop"};
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(lines[i].rfind(order[i], 0), 0u) << lines[i];
    EXPECT_NE(lines[i].find(std::string(order[i]) + "-env"), std::string::npos) << lines[i];
    auto st = json::parse(
        lines[i].substr(lines[i].find('{'), lines[i].rfind('}') - lines[i].find('{') + 1));
    EXPECT_EQ(st["id"], "h1");
    EXPECT_EQ(st["bundle"], bundle_.string());
    EXPECT_TRUE(st.contains("ociVersion"));
  }
  EXPECT_NE(lines[0].find("\"created\""), std::string::npos);  // legacy prestart
  EXPECT_NE(lines[1].find("\"creating\""), std::string::npos);
  EXPECT_NE(lines[3].find("\"running\""), std::string::npos);
  EXPECT_NE(lines[4].find("\"stopped\""), std::string::npos);
  // startContainer ran inside the container (its hostname, its filesystem).
  EXPECT_NE(r.out.find("startContainer {"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("droplet-test"), std::string::npos) << r.out;
}

TEST_F(Hooks, CreateContainerRunsInContainerNamespaces) {
  auto c = default_config({});
  auto out = (dir_ / "ns.txt").string();
  c["hooks"] = {
      {"createContainer",
       {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "readlink /proc/self/ns/net > " + out}}}}}};
  write_config({"true"}, c);
  auto r = run_container("h2");
  ASSERT_EQ(r.code, 0) << r.err;
  // The hook wrote into the container's mount namespace, where the host path is still visible
  // before pivot_root; compare its net namespace with ours.
  auto ns = read_text(out);
  ASSERT_FALSE(ns.empty());
  EXPECT_NE(ns, fs::read_symlink("/proc/self/ns/net").string() + "\n");
}

TEST_F(Hooks, FailingCreateRuntimeAbortsWithStderrTail) {
  auto c = default_config({});
  c["hooks"] = {
      {"createRuntime",
       {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "echo boom-from-hook >&2; exit 3"}}}}}};
  write_config({"true"}, c);
  auto r = droplet({"create", "-b", bundle_.string(), "hf1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("boom-from-hook"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("exit status 3"), std::string::npos) << r.err;
  expect_no_leftovers("hf1");
}

TEST_F(Hooks, TimeoutKillsHook) {
  auto c = default_config({});
  c["hooks"] = {
      {"createContainer", {{{"path", "/bin/sleep"}, {"args", {"sleep", "30"}}, {"timeout", 1}}}}};
  write_config({"true"}, c);
  auto t0 = std::chrono::steady_clock::now();
  auto r = droplet({"create", "-b", bundle_.string(), "ht1"});
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("timed out"), std::string::npos) << r.err;
  EXPECT_LT(took, std::chrono::seconds(10));
  expect_no_leftovers("ht1");
}

TEST_F(Hooks, FailingPoststartAndPoststopOnlyWarn) {
  auto c = default_config({});
  c["hooks"] = {{"poststart", {{{"path", "/bin/false"}}}},
                {"poststop", {{{"path", "/bin/false"}}}}};
  write_config({"sh", "-c", "exit 5"}, c);
  auto r = run_container("hw1");
  EXPECT_EQ(r.code, 5) << r.err;
  EXPECT_NE(r.err.find("poststart"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("poststop"), std::string::npos) << r.err;
  expect_no_leftovers("hw1");
}

TEST_F(Hooks, FailingStartContainerStopsContainer) {
  auto c = default_config({});
  c["hooks"] = {{"startContainer", {{{"path", "/bin/false"}}}}};
  write_config({"sleep", "100"}, c);
  ASSERT_EQ(droplet({"create", "-b", bundle_.string(), "hs1"}).code, 0);
  auto r = droplet({"start", "hs1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(state_of("hs1")["status"], "stopped");
  EXPECT_EQ(droplet({"delete", "hs1"}).code, 0);
}

TEST_F(Hooks, StopContainerExtensionRunsAfterKill) {
  auto c = default_config({});
  c["hooks"] = {{"stopContainer", {hook("stopContainer")}}};
  write_config({"sleep", "100"}, c);
  ASSERT_EQ(run_container("hk1", {"-d"}).code, 0);
  ASSERT_EQ(droplet({"kill", "hk1", "KILL"}).code, 0);
  auto lines = log_lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("stopContainer"), std::string::npos);
  EXPECT_NE(lines[0].find("\"stopped\""), std::string::npos);
  EXPECT_EQ(droplet({"delete", "hk1"}).code, 0);
}

}  // namespace
}  // namespace droplet_test

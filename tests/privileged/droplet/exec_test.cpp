// exec joins every namespace and the cgroup of the container and gets the same process
// restrictions (capabilities, seccomp, no_new_privs) as the init.
#include "droplet_fixture.hpp"

namespace droplet_test {
namespace {

class Exec : public DropletTest {
 protected:
  void SetUp() override {
    DropletTest::SetUp();
    if (IsSkipped()) return;
    auto c = default_config({});
    c["hostname"] = "exec-host";
    c["linux"]["seccomp"] = {
        {"defaultAction", "SCMP_ACT_ALLOW"},
        {"syscalls",
         {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
    write_config({"sleep", "1000"}, c);
    ASSERT_EQ(run_container("e1", {"-d"}).code, 0);
  }
  std::string status_field(const std::string& status, const std::string& key) {
    std::istringstream in(status);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind(key + ":", 0) == 0) {
        auto v = line.substr(key.size() + 1);
        v.erase(0, v.find_first_not_of(" \t"));
        return v;
      }
    return "";
  }
};

TEST_F(Exec, EntersNamespaces) {
  auto init_pid = state_of("e1")["pid"].get<int>();
  auto r = droplet({"exec", "e1", "sh", "-c",
                    "hostname; for n in net pid mnt uts ipc cgroup; do readlink /proc/self/ns/$n; "
                    "done; ls /proc | grep -c '^[0-9]'"});
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream in(r.out);
  std::string hostname;
  in >> hostname;
  EXPECT_EQ(hostname, "exec-host");
  for (auto n : {"net", "pid", "mnt", "uts", "ipc", "cgroup"}) {
    std::string ns;
    in >> ns;
    EXPECT_EQ(ns,
              fs::read_symlink(fs::path("/proc") / std::to_string(init_pid) / "ns" / n).string())
        << n;
  }
}

TEST_F(Exec, ExitCodeEnvCwdUser) {
  auto r = droplet({"exec", "e1", "sh", "-c", "exit 9"});
  EXPECT_EQ(r.code, 9);
  r = droplet({"exec", "--env", "FOO=bar", "--cwd", "/tmp", "--user", "65534:65534", "e1", "sh",
               "-c", "echo $FOO $(pwd) $(id -u) $(id -g)"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "bar /tmp 65534 65534\n");
  r = droplet({"exec", "e1", "no-such-command"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("no-such-command"), std::string::npos);
}

TEST_F(Exec, SameRestrictionsAsInit) {
  auto init_pid = state_of("e1")["pid"].get<int>();
  auto init_status = read_text("/proc/" + std::to_string(init_pid) + "/status");
  auto r = droplet({"exec", "e1", "cat", "/proc/self/status"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (auto key : {"CapEff", "CapBnd", "CapPrm", "CapAmb", "NoNewPrivs", "Seccomp"})
    EXPECT_EQ(status_field(r.out, key), status_field(init_status, key)) << key;
  EXPECT_EQ(status_field(r.out, "Seccomp"), "2");
  r = droplet({"exec", "e1", "mkdir", "/tmp/nope"});
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.err.find("Operation not permitted"), std::string::npos) << r.err;
}

TEST_F(Exec, ProcessFileAndDetach) {
  auto p = default_config({"sh", "-c", "echo from-process-json > /tmp/pj"})["process"];
  write_text(dir_ / "process.json", p.dump());
  auto pidf = dir_ / "exec.pid";
  auto r = droplet({"exec", "--detach", "--pid-file", pidf.string(), "--process",
                    (dir_ / "process.json").string(), "e1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_GT(std::stoi(read_text(pidf)), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  r = droplet({"exec", "e1", "cat", "/tmp/pj"});
  EXPECT_EQ(r.out, "from-process-json\n");
}

TEST_F(Exec, RefusedInStoppedContainer) {
  ASSERT_EQ(droplet({"kill", "e1", "KILL"}).code, 0);
  for (int i = 0; i < 100 && state_of("e1")["status"] != "stopped"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto r = droplet({"exec", "e1", "true"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("stopped"), std::string::npos) << r.err;
}

TEST_F(Exec, EntersUserNamespace) {
  ASSERT_EQ(droplet({"delete", "-f", "e1"}).code, 0);
  auto c = default_config({});
  c["linux"]["namespaces"].push_back({{"type", "user"}});
  c["linux"]["uidMappings"] =
      json::array({{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}});
  c["linux"]["gidMappings"] =
      json::array({{{"containerID", 0}, {"hostID", 200000}, {"size", 65536}}});
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  ASSERT_EQ(run_cmd({"chown", "-R", "-h", "200000:200000", (bundle_ / "rootfs").string()}).code, 0);
  write_config({"sleep", "1000"}, c);
  ASSERT_EQ(run_container("eu1", {"-d"}).code, 0);
  auto r =
      droplet({"exec", "eu1", "sh", "-c", "cat /proc/self/uid_map; id -u; touch /tmp/by-exec"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("0     200000      65536"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(stat((bundle_ / "rootfs/tmp/by-exec").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 200000u);
}

TEST_F(Exec, TtyWithoutConsoleSocketIsProxied) {
  auto r = droplet({"exec", "--tty", "e1", "sh", "-c", "tty; echo out-$((6*7))"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("/dev/pts/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("out-42"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace droplet_test

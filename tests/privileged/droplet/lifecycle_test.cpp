// Lifecycle of real containers: create → created → start → running → kill → stopped → delete,
// run with exit codes, pid files, list, and the error cases of each step.
#include "droplet_fixture.hpp"

namespace droplet_test {
namespace {

class Lifecycle : public DropletTest {};

TEST_F(Lifecycle, CreateStartKillDelete) {
  write_config({"sleep", "1000"});
  auto pid_file = dir_ / "init.pid";
  auto r = droplet({"create", "--bundle", bundle_.string(), "--pid-file", pid_file.string(), "c1"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto st = state_of("c1");
  ASSERT_TRUE(st.is_object());
  EXPECT_EQ(st["status"], "created");
  EXPECT_EQ(st["id"], "c1");
  EXPECT_EQ(st["bundle"], bundle_.string());
  EXPECT_TRUE(st.contains("ociVersion"));
  int pid = st["pid"].get<int>();
  EXPECT_GT(pid, 0);
  EXPECT_EQ(std::stoi(read_text(pid_file)), pid);
  // The init waits for start: it must not have exec'd yet.
  EXPECT_NE(read_text("/proc/" + std::to_string(pid) + "/cmdline").find("droplet"),
            std::string::npos);

  r = droplet({"start", "c1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(state_of("c1")["status"], "running");
  auto cmdline = read_text("/proc/" + std::to_string(pid) + "/cmdline");
  EXPECT_EQ(cmdline.substr(0, 5), std::string("sleep"));

  r = droplet({"start", "c1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("c1"), std::string::npos) << r.err;

  r = droplet({"delete", "c1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not stopped"), std::string::npos) << r.err;

  r = droplet({"kill", "c1", "KILL"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (int i = 0; i < 100 && state_of("c1")["status"] != "stopped"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(state_of("c1")["status"], "stopped");
  r = droplet({"kill", "c1", "TERM"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not running"), std::string::npos) << r.err;

  r = droplet({"delete", "c1"});
  ASSERT_EQ(r.code, 0) << r.err;
  r = droplet({"state", "c1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("container \"c1\" does not exist"), std::string::npos) << r.err;
  expect_no_leftovers("c1");
}

TEST_F(Lifecycle, RunPropagatesExitCodeAndOutput) {
  write_config({"sh", "-c", "echo out; echo err >&2; exit 42"});
  auto r = run_container("r1");
  EXPECT_EQ(r.code, 42);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_NE(r.err.find("err"), std::string::npos);
  expect_no_leftovers("r1");
}

TEST_F(Lifecycle, RunKilledBySignalGives128PlusSignal) {
  write_config({"sleep", "1000"});
  // pid 1 ignores signals it has no handler for when sent from inside; kill from outside.
  std::thread killer([this] {
    for (int i = 0; i < 500 && state_of("r2")["status"] != "running"; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    droplet({"kill", "r2", "9"});
  });
  auto r = run_container("r2");
  killer.join();
  EXPECT_EQ(r.code, 137);
  expect_no_leftovers("r2");
}

TEST_F(Lifecycle, RunDetachThenKillAllAndForceDelete) {
  write_config({"sh", "-c", "sleep 1000 & sleep 1000"});
  auto r = run_container("d1", {"--detach"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(state_of("d1")["status"], "running");
  auto ps = droplet({"ps", "--format", "json", "d1"});
  ASSERT_EQ(ps.code, 0) << ps.err;
  auto pids = json::parse(ps.out);
  EXPECT_GE(pids.size(), 2u) << ps.out;
  r = droplet({"kill", "--all", "d1", "SIGKILL"});
  EXPECT_EQ(r.code, 0) << r.err;
  r = droplet({"delete", "--force", "d1"});
  EXPECT_EQ(r.code, 0) << r.err;
  for (auto p : pids) EXPECT_FALSE(fs::exists("/proc/" + std::to_string(p.get<int>()) + "/exe"));
  expect_no_leftovers("d1");
}

TEST_F(Lifecycle, ListShowsContainers) {
  write_config({"sleep", "1000"});
  ASSERT_EQ(droplet({"create", "-b", bundle_.string(), "l1"}).code, 0);
  ASSERT_EQ(droplet({"create", "-b", bundle_.string(), "l2"}).code, 0);
  auto r = droplet({"list", "--format", "json"});
  ASSERT_EQ(r.code, 0);
  auto arr = json::parse(r.out);
  ASSERT_EQ(arr.size(), 2u);
  EXPECT_EQ(arr[0]["id"], "l1");
  EXPECT_EQ(arr[1]["status"], "created");
  r = droplet({"list"});
  EXPECT_NE(r.out.find("ID"), std::string::npos);
  EXPECT_NE(r.out.find("l2"), std::string::npos);
  r = droplet({"list", "-q"});
  EXPECT_EQ(r.out, "l1\nl2\n");
  // A created container is not stopped: delete refuses it (runtime-spec) and leaves it be;
  // delete --force kills its waiting init.
  r = droplet({"delete", "l1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not stopped: created"), std::string::npos) << r.err;
  EXPECT_EQ(state_of("l1")["status"], "created");
  EXPECT_EQ(droplet({"delete", "-f", "l1"}).code, 0);
  EXPECT_EQ(droplet({"delete", "-f", "l2"}).code, 0);
  expect_no_leftovers("l1");
}

TEST_F(Lifecycle, KillSignalForms) {
  write_config({"sh", "-c", "trap 'exit 11' USR1; while true; do sleep 0.05; done"});
  ASSERT_EQ(run_container("k1", {"-d"}).code, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto r = droplet({"kill", "k1", "NOPE"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("NOPE"), std::string::npos);
  r = droplet({"kill", "k1", "usr1"});
  EXPECT_EQ(r.code, 0) << r.err;
  for (int i = 0; i < 100 && state_of("k1")["status"] != "stopped"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(state_of("k1")["status"], "stopped");
  EXPECT_EQ(droplet({"delete", "k1"}).code, 0);
}

TEST_F(Lifecycle, FeaturesAndSpec) {
  auto r = droplet({"features"});
  ASSERT_EQ(r.code, 0);
  auto f = json::parse(r.out);
  EXPECT_EQ(f["linux"]["seccomp"]["enabled"], true);
  EXPECT_EQ(f["linux"]["selinux"]["enabled"], false);
  EXPECT_FALSE(f["hooks"].empty());
  auto sd = dir_ / "spec";
  fs::create_directories(sd);
  r = droplet({"spec", "--bundle", sd.string()});
  ASSERT_EQ(r.code, 0) << r.err;
  auto c = json::parse(read_text(sd / "config.json"));
  EXPECT_EQ(c["root"]["path"], "rootfs");
  r = droplet({"spec", "--bundle", sd.string()});
  EXPECT_EQ(r.code, 1);
}

TEST_F(Lifecycle, ForegroundRunWithTerminalProxiesThePty) {
  auto c = default_config({});
  c["process"]["terminal"] = true;
  write_config({"sh", "-c", "tty; read line; echo got-$line; exit 4"}, c);
  auto r = droplet({"run", "--bundle", bundle_.string(), "tty2"}, "hello\n");
  EXPECT_EQ(r.code, 4) << r.err;
  EXPECT_NE(r.out.find("/dev/pts/0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("got-hello"), std::string::npos) << r.out;
  expect_no_leftovers("tty2");
}

}  // namespace
}  // namespace droplet_test

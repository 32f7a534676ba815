// Resource control through the cgroup manager on this host's cgroups (v1 here): an OOM kill
// under a memory limit, fork failures under pids.max, pause/resume, update and stats.
#include "droplet_fixture.hpp"

namespace droplet_test {
namespace {

class Cgroups : public DropletTest {
 protected:
  void SetUp() override {
    DropletTest::SetUp();
    if (IsSkipped()) return;
    if (own_cgroup_dirs("memory").empty() && !fs::exists("/sys/fs/cgroup/cgroup.controllers"))
      GTEST_SKIP() << "no memory cgroup controller";
  }
  // Host directory of the container's cgroup for a controller (v1) or the unified dir (v2).
  fs::path host_dir(const std::string& controller) {
    auto dirs = own_cgroup_dirs(controller);
    if (dirs.empty()) return {};
    return dirs[0] / cgroup_prefix_ / ("c" + std::to_string(configs_));
  }
};

TEST_F(Cgroups, MemoryLimitTriggersOomKill) {
  auto c = default_config({});
  c["linux"]["resources"]["memory"] = {{"limit", 32 * 1024 * 1024}, {"swap", 32 * 1024 * 1024}};
  // sort holds its whole (newline-free) input in memory: 200 MB cannot fit in 32 MiB.
  write_config({"sh", "-c", "head -c 200000000 /dev/zero | sort > /dev/null; echo rc=$?"}, c);
  auto r = run_container("oom1");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("rc=137"), std::string::npos) << r.out << r.err;
  expect_no_leftovers("oom1");
  EXPECT_FALSE(fs::exists(host_dir("memory"))) << "cgroup not removed";
}

TEST_F(Cgroups, PidsLimitMakesForkFail) {
  auto c = default_config({});
  c["linux"]["resources"]["pids"] = {{"limit", 8}};
  write_config(
      {"sh", "-c",
       "n=0; for i in $(seq 1 20); do sleep 5 & if [ $? -eq 0 ]; then n=$((n+1)); fi; done;"
       "echo started; kill $(jobs -p) 2>/dev/null; true"},
      c);
  auto r = run_container("pids1");
  EXPECT_NE(r.err.find("fork"), std::string::npos) << "stderr: " << r.err;
}

TEST_F(Cgroups, PauseResumeUpdateStats) {
  write_config({"sh", "-c", "while true; do sleep 0.05; done"});
  ASSERT_EQ(run_container("pr1", {"-d"}).code, 0);
  ASSERT_EQ(droplet({"pause", "pr1"}).code, 0);
  EXPECT_EQ(state_of("pr1")["status"], "paused");
  auto r = droplet({"pause", "pr1"});
  EXPECT_EQ(r.code, 1);
  ASSERT_EQ(droplet({"resume", "pr1"}).code, 0);
  EXPECT_EQ(state_of("pr1")["status"], "running");
  r = droplet({"resume", "pr1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("not paused"), std::string::npos) << r.err;

  r = droplet({"update", "--memory", "64m", "--pids-limit", "20", "pr1"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto mem = host_dir("memory");
  if (fs::exists(mem / "memory.limit_in_bytes")) {
    EXPECT_EQ(std::stoll(read_text(mem / "memory.limit_in_bytes")), 64LL * 1024 * 1024);
  }
  auto pids = host_dir("pids");
  if (fs::exists(pids / "pids.max")) {
    EXPECT_EQ(read_text(pids / "pids.max"), "20\n");
  }

  r = droplet({"events", "--stats", "pr1"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto ev = json::parse(r.out);
  EXPECT_EQ(ev["type"], "stats");
  EXPECT_EQ(ev["id"], "pr1");
  EXPECT_TRUE(ev["data"].is_object());
  EXPECT_GE(ev["data"]["pids"]["current"].get<int>(), 1) << ev.dump();

  ASSERT_EQ(droplet({"delete", "--force", "pr1"}).code, 0);
  expect_no_leftovers("pr1");
  EXPECT_FALSE(fs::exists(mem));
}

TEST_F(Cgroups, ProcessJoinsCgroupBeforeCgroupNamespace) {
  write_config({"cat", "/proc/self/cgroup"});
  auto r = run_container("cg1");
  ASSERT_EQ(r.code, 0) << r.err;
  // Inside its own cgroup namespace the container sees itself at the root of every hierarchy.
  std::istringstream in(r.out);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    if (line.find("name=") != std::string::npos) continue;
    ++lines;
    EXPECT_EQ(line.substr(line.rfind(':') + 1), "/") << line;
  }
  EXPECT_GT(lines, 0);
}

}  // namespace
}  // namespace droplet_test

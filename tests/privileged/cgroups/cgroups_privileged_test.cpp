// The cgroup backends against the real kernel. Every cgroup is created under this test
// process's own cgroup (relative cgroupsPath) and removed in TearDown; only children forked by
// the test are moved into them.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <random>
#include <thread>

#include <gtest/gtest.h>

#include "raind/cgroups/device_filter.hpp"
#include "raind/cgroups/manager.hpp"
#include "raind/sys/files.hpp"

namespace raind::cgroups {
namespace {

std::string random_tag() {
  std::random_device rd;
  return std::to_string(rd() % 1000000);
}

// A forked child that waits for a byte on a pipe before running `body`.
class GatedChild {
 public:
  template <class F>
  explicit GatedChild(F body) {
    int fds[2];
    if (pipe(fds) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(fds[1]);
      char c;
      if (read(fds[0], &c, 1) != 1) _exit(99);
      _exit(body());
    }
    close(fds[0]);
    gate_ = fds[1];
  }
  ~GatedChild() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (gate_ >= 0) close(gate_);
  }
  pid_t pid() const { return pid_; }
  void release() {
    char c = 1;
    (void)!write(gate_, &c, 1);
  }
  int wait_status() {
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int gate_ = -1;
  bool reaped_ = false;
};

class CgroupKernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root to create cgroups";
    auto layout = detect_host_layout();
    ASSERT_TRUE(layout) << layout.error().what();
    layout_ = *layout;
    parent_ = "raind-cgtest-" + random_tag();
    auto mgr = make_manager(layout_, parent_ + "/c1", "c1");
    ASSERT_TRUE(mgr) << mgr.error().what();
    mgr_ = std::move(*mgr);
    auto created = mgr_->create();
    ASSERT_TRUE(created) << created.error().what();
  }
  void TearDown() override {
    if (mgr_) {
      auto st = mgr_->destroy();
      EXPECT_TRUE(st) << st.error().what();
      EXPECT_FALSE(std::filesystem::exists(mgr_->primary_path()));
    }
    // The parent level created on the way down.
    if (auto parent = make_manager(layout_, parent_, "x")) (void)(*parent)->destroy();
  }
  bool has(const char* controller) const {
    return layout_.version == Version::v2 || layout_.v1_mounts.contains(controller);
  }
  HostLayout layout_;
  std::string parent_;
  std::unique_ptr<Manager> mgr_;
};

TEST_F(CgroupKernel, MemoryLimitOomKillsTheProcess) {
  if (!has("memory")) GTEST_SKIP() << "no memory controller";
  Resources r;
  r.memory = MemoryLimits{.limit = 32 << 20, .swap = 32 << 20};
  auto st = mgr_->apply(r);
  ASSERT_TRUE(st) << st.error().what();
  GatedChild child([] {
    // Volatile writes and kept pointers: the optimiser must not elide the allocations.
    static char* keep[256];
    for (int i = 0; i < 256; ++i) {
      volatile char* p = static_cast<char*>(malloc(1 << 20));
      if (!p) return 2;
      for (int j = 0; j < (1 << 20); j += 4096) p[j] = 1;
      keep[i] = const_cast<char*>(p);
    }
    return keep[255] != nullptr ? 0 : 3;
  });
  ASSERT_TRUE(mgr_->add_process(child.pid()));
  child.release();
  int status = child.wait_status();
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited normally with " << WEXITSTATUS(status);
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  auto stats = mgr_->stats();
  ASSERT_TRUE(stats);
  EXPECT_GT(stats->memory.oom_kill, 0u);
  EXPECT_EQ(stats->memory.limit, 32u << 20);
}

TEST_F(CgroupKernel, PidsLimitStopsForks) {
  if (!has("pids")) GTEST_SKIP() << "no pids controller";
  Resources r;
  r.pids = PidsLimits{.limit = 10};
  ASSERT_TRUE(mgr_->apply(r));
  GatedChild child([] {
    int forked = 0;
    for (int i = 0; i < 50; ++i) {
      pid_t p = fork();
      if (p == 0) {
        pause();
        _exit(0);
      }
      if (p < 0) break;
      ++forked;
    }
    // The test put us in a process group of our own: this takes down every fork with us.
    kill(0, SIGKILL);
    return forked;
  });
  // Run the child in its own process group so the cleanup kill stays inside it.
  setpgid(child.pid(), child.pid());
  ASSERT_TRUE(mgr_->add_process(child.pid()));
  child.release();
  int status = child.wait_status();
  // kill(0, SIGKILL) takes the child and its forks down together.
  ASSERT_TRUE(WIFSIGNALED(status));
  auto stats = mgr_->stats();
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->pids.limit, 10u);
  if (layout_.version == Version::v1) {
    auto dir =
        layout_.v1_mounts.at("pids") / (layout_.self_paths.at("pids").substr(1)) / parent_ / "c1";
    auto ev = sys::read_file(dir / "pids.events");
    ASSERT_TRUE(ev) << ev.error().what();
    EXPECT_NE(ev->find("max "), std::string::npos);
    EXPECT_EQ(ev->find("max 0"), std::string::npos) << "fork limit was never hit: " << *ev;
  }
}

TEST_F(CgroupKernel, FreezeAndThaw) {
  if (!has("freezer") && layout_.version == Version::v1) GTEST_SKIP() << "no freezer controller";
  GatedChild child([] {
    for (;;) pause();
    return 0;
  });
  ASSERT_TRUE(mgr_->add_process(child.pid()));
  child.release();
  ASSERT_TRUE(mgr_->freeze());
  EXPECT_TRUE(*mgr_->frozen());
  ASSERT_TRUE(mgr_->thaw());
  EXPECT_FALSE(*mgr_->frozen());
  auto pids = mgr_->pids();
  ASSERT_TRUE(pids);
  ASSERT_EQ(pids->size(), 1u);
  EXPECT_EQ((*pids)[0], child.pid());
}

TEST_F(CgroupKernel, CpuQuotaThrottles) {
  if (!has("cpu")) GTEST_SKIP() << "no cpu controller";
  Resources r;
  r.cpu = CpuLimits{.quota = 10000, .period = 100000};
  ASSERT_TRUE(mgr_->apply(r));
  GatedChild child([] {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(600);
    volatile unsigned long spin = 0;
    while (std::chrono::steady_clock::now() < end) spin = spin + 1;
    return 0;
  });
  ASSERT_TRUE(mgr_->add_process(child.pid()));
  child.release();
  child.wait_status();
  auto stats = mgr_->stats();
  ASSERT_TRUE(stats);
  EXPECT_GT(stats->cpu.throttled_periods, 0u);
  EXPECT_GT(stats->cpu.usage_total_ns, 0u);
  // 10% of one CPU over ~600 ms of wall time.
  EXPECT_LT(stats->cpu.usage_total_ns, 200'000'000u);
}

TEST_F(CgroupKernel, UpdateRaisesAndLowersMemoryWithMemsw) {
  if (!has("memory")) GTEST_SKIP() << "no memory controller";
  Resources small;
  small.memory = MemoryLimits{.limit = 16 << 20, .swap = 16 << 20};
  ASSERT_TRUE(mgr_->apply(small));
  Resources big;
  big.memory = MemoryLimits{.limit = 64 << 20, .swap = 64 << 20};
  auto st = mgr_->apply(big);
  ASSERT_TRUE(st) << st.error().what();
  EXPECT_EQ(mgr_->stats()->memory.limit, 64u << 20);
  Resources bad;
  bad.memory = MemoryLimits{.limit = -5};
  EXPECT_FALSE(mgr_->apply(bad));
}

// cgroup v2 device control is an eBPF program; this host's unified hierarchy accepts it even
// though its resource controllers are on v1, so the program is verified and enforced for real.
class DeviceFilterKernel : public ::testing::Test {
 protected:
  // Runs `probe` in a fresh unified cgroup carrying the program compiled from `rules`; returns
  // the probe's exit code (-1 after a skip or failure).
  int exit_code_under(const std::vector<DeviceRule>& rules, std::function<int()> probe) {
    if (geteuid() != 0) {
      skip_ = "needs root";
      return -1;
    }
    auto layout = detect_host_layout();
    if (!layout || layout->unified_mount.empty()) {
      skip_ = "no unified hierarchy mounted";
      return -1;
    }
    auto own = layout->self_paths.count("") ? layout->self_paths.at("") : "/";
    auto dir = layout->unified_mount / own.substr(1) / ("raind-devtest-" + random_tag());
    if (mkdir(dir.c_str(), 0755) != 0) {
      ADD_FAILURE() << "mkdir " << dir << ": " << strerror(errno);
      return -1;
    }
    auto attached = attach_device_filter(dir, compile_device_filter(rules));
    if (!attached) {
      rmdir(dir.c_str());
      int err = attached.error().sys_errno();
      if (err == EPERM || err == ENOSYS || err == EOPNOTSUPP)
        skip_ = "kernel refuses cgroup device programs: " + attached.error().what();
      else
        ADD_FAILURE() << attached.error().what();
      return -1;
    }
    GatedChild child(std::move(probe));
    std::ofstream(dir / "cgroup.procs") << child.pid();
    child.release();
    int status = child.wait_status();
    rmdir(dir.c_str());
    EXPECT_TRUE(WIFEXITED(status));
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::string skip_;
};

TEST_F(DeviceFilterKernel, EbpfProgramDeniesUnlistedDevices) {
  std::vector<DeviceRule> rules = {{false, 'a', std::nullopt, std::nullopt, "rwm"},
                                   {true, 'c', 1, 3, "rw"}};  // /dev/null only
  int code = exit_code_under(rules, [] {
    int null_fd = open("/dev/null", O_WRONLY);
    int zero_fd = open("/dev/zero", O_RDONLY);
    int zero_errno = errno;
    return (null_fd >= 0 ? 0 : 1) | (zero_fd < 0 && zero_errno == EPERM ? 0 : 2);
  });
  if (!skip_.empty()) GTEST_SKIP() << skip_;
  EXPECT_EQ(code, 0) << "bit 1: /dev/null denied; bit 2: /dev/zero allowed";
}

// "deny c 1:3 w" after "allow a rwm" must refuse an O_RDWR open (the request shares the write
// bit) while a read-only open still passes.
TEST_F(DeviceFilterKernel, PartialDenyRefusesRequestsSharingABit) {
  std::vector<DeviceRule> rules = {{true, 'a', std::nullopt, std::nullopt, "rwm"},
                                   {false, 'c', 1, 3, "w"}};
  int code = exit_code_under(rules, [] {
    int read_fd = open("/dev/null", O_RDONLY);
    int rdwr_fd = open("/dev/null", O_RDWR);
    int rdwr_errno = errno;
    int write_fd = open("/dev/null", O_WRONLY);
    int write_errno = errno;
    return (read_fd >= 0 ? 0 : 1) | (rdwr_fd < 0 && rdwr_errno == EPERM ? 0 : 2) |
           (write_fd < 0 && write_errno == EPERM ? 0 : 4);
  });
  if (!skip_.empty()) GTEST_SKIP() << skip_;
  EXPECT_EQ(code, 0) << "bit 1: read denied; bit 2: O_RDWR allowed; bit 4: O_WRONLY allowed";
}

}  // namespace
}  // namespace raind::cgroups

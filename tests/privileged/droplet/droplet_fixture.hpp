#pragma once
// Shared fixture for droplet's privileged tests: a per-test temp dir with its own --root and a
// busybox bundle, a runner for the droplet binary, and leftover checks (state dir, cgroups,
// mounts, processes).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace droplet_test {

namespace fs = std::filesystem;
using nlohmann::json;

struct Result {
  int code = -1;
  std::string out, err;
};

inline std::string droplet_binary() {
  if (const char* d = std::getenv("RAIND_BIN_DIR")) return std::string(d) + "/droplet";
  return std::string(RAIND_BINARY_DIR) + "/bin/droplet";
}

inline std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_text(const fs::path& p, const std::string& s, mode_t mode = 0644) {
  std::ofstream(p) << s;
  ::chmod(p.c_str(), mode);
}

// Runs argv with optional stdin; kills it after timeout. Extra fds are not inherited.
inline Result run_cmd(const std::vector<std::string>& argv, const std::string& input = "",
                      int timeout_s = 60, const std::vector<std::string>& extra_env = {}) {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return {};
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    for (const auto& e : extra_env) putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!input.empty()) {
    ssize_t w = write(in[1], input.data(), input.size());
    (void)w;
  }
  close(in[1]);
  Result r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  int st = 0;
  bool exited = false;
  auto drain = [&] {
    char buf[4096];
    ssize_t k;
    while ((k = read(out[0], buf, sizeof buf)) > 0) r.out.append(buf, k);
    while ((k = read(err[0], buf, sizeof buf)) > 0) r.err.append(buf, k);
  };
  // Stop at the command's exit, not at EOF: a detached container keeps our pipes open.
  while (!exited) {
    pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    poll(p, 2, 10);
    drain();
    if (waitpid(pid, &st, WNOHANG) == pid) exited = true;
    if (!exited && std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      exited = true;
    }
  }
  drain();
  close(out[0]);
  close(err[0]);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// A rootfs with busybox-static and its applet links (or the shared test image when present).
inline void make_rootfs(const fs::path& rootfs) {
  fs::create_directories(rootfs);
  for (auto d : {"bin", "proc", "sys", "dev", "etc", "tmp", "root", "usr/bin"})
    fs::create_directories(rootfs / d);
  fs::copy_file("/bin/busybox", rootfs / "bin/busybox", fs::copy_options::overwrite_existing);
  auto list = run_cmd({"/bin/busybox", "--list"});
  std::istringstream in(list.out);
  std::string applet;
  while (std::getline(in, applet)) {
    if (applet.empty() || applet == "busybox") continue;
    std::error_code ec;
    fs::create_symlink("busybox", rootfs / "bin" / applet, ec);
  }
  write_text(rootfs / "etc/passwd",
             "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n");
  write_text(rootfs / "etc/group", "root:x:0:\nnogroup:x:65534:\n");
}

// The configuration `runc spec` writes, with a non-terminal process.
inline json default_config(const std::vector<std::string>& args) {
  json c = json::parse(R"({
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false, "user": {"uid": 0, "gid": 0}, "args": [],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]},
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": false},
  "hostname": "droplet-test",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}],
    "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
})");
  c["process"]["args"] = args;
  return c;
}

class DropletTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "droplet privileged tests need root";
    if (access(droplet_binary().c_str(), X_OK) != 0)
      GTEST_SKIP() << "droplet binary not built: " << droplet_binary();
    char tmpl[] = "/tmp/droplet-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    root_ = dir_ / "state";
    bundle_ = dir_ / "bundle";
    make_rootfs(bundle_ / "rootfs");
    const char* parent = std::getenv("RAIND_TEST_CGROUP_PARENT");
    // Relative cgroupsPath: nested under this test process's own cgroup.
    cgroup_prefix_ = parent ? std::string(parent) : "droplet-test-" + std::to_string(getpid());
    mountinfo_before_ = count_mounts();
  }

  void TearDown() override {
    if (dir_.empty()) return;
    auto ids = run_cmd({droplet_binary(), "--root", root_.string(), "list", "-q"});
    std::istringstream in(ids.out);
    std::string id;
    while (std::getline(in, id))
      if (!id.empty()) run_cmd({droplet_binary(), "--root", root_.string(), "delete", "-f", id});
    std::error_code ec;
    fs::remove_all(dir_, ec);
    for (auto ctrl : {"memory", "pids", "cpu", "cpuset", "devices", "freezer", "blkio", "hugetlb",
                      "cpuacct", "perf_event", "net_cls", "misc", "rdma"})
      for (const auto& d : own_cgroup_dirs(ctrl)) rmdir_cgroup_tree(d / cgroup_prefix_);
  }

  std::string cgroup_path(const std::string& id) {
    auto p = cgroup_prefix_ + "/" + id;
    return p;
  }

  // Writes bundle/config.json with the given args and an optional edit.
  json write_config(const std::vector<std::string>& args, json config = json()) {
    if (config.is_null()) config = default_config(args);
    config["process"]["args"] = args;
    if (!config["linux"].contains("cgroupsPath"))
      config["linux"]["cgroupsPath"] = cgroup_prefix_ + "/c" + std::to_string(++configs_);
    write_text(bundle_ / "config.json", config.dump(2));
    return config;
  }

  Result droplet(std::vector<std::string> args, const std::string& input = "", int timeout = 60) {
    std::vector<std::string> argv{droplet_binary(), "--root", root_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_cmd(argv, input, timeout);
  }

  // run --bundle with the test bundle; returns exit code + output.
  Result run_container(const std::string& id, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{"run", "--bundle", bundle_.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    args.push_back(id);
    return droplet(args);
  }

  json state_of(const std::string& id) {
    auto r = droplet({"state", id});
    if (r.code != 0) return json();
    return json::parse(r.out, nullptr, false);
  }

  static int count_mounts() {
    auto text = read_text("/proc/self/mountinfo");
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }

  // No state dir, no extra mounts in our namespace.
  void expect_no_leftovers(const std::string& id) {
    EXPECT_FALSE(fs::exists(root_ / id)) << "state dir left behind for " << id;
    EXPECT_EQ(count_mounts(), mountinfo_before_) << "mounts left behind";
  }

  static void rmdir_cgroup_tree(const fs::path& p) {
    std::error_code ec;
    if (!fs::exists(p, ec)) return;
    for (const auto& e : fs::directory_iterator(p, ec))
      if (e.is_directory(ec)) rmdir_cgroup_tree(e.path());
    ::rmdir(p.c_str());
  }

  // The host directories of this test's cgroup prefix on v1 (memory and pids) for leftover
  // checks and cleanup.
  std::vector<fs::path> own_cgroup_dirs(const std::string& controller) {
    std::vector<fs::path> out;
    auto text = read_text("/proc/self/cgroup");
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      auto c1 = line.find(':'), c2 = line.find(':', c1 + 1);
      auto ctrls = line.substr(c1 + 1, c2 - c1 - 1);
      auto path = line.substr(c2 + 1);
      std::istringstream cs(ctrls);
      std::string c;
      while (std::getline(cs, c, ','))
        if (c == controller) {
          for (auto mnt :
               {fs::path("/sys/fs/cgroup") / controller, fs::path("/sys/fs/cgroup") / ctrls})
            if (fs::exists(mnt)) out.push_back(mnt / path.substr(1));
        }
    }
    return out;
  }

  fs::path dir_, root_, bundle_;
  std::string cgroup_prefix_;
  int mountinfo_before_ = 0;
  int configs_ = 0;
};

}  // namespace droplet_test

#pragma once
// The fixture of the container integration tests: a daemon of its own per test (state root in a
// temp dir, containers under the sandbox's cgroup parent), the fixture image imported, the raind
// CLI pointed at it, and the checks that nothing is left on the host afterwards.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <regex>
#include <sstream>
#include <thread>

#include "../condenser/harness.hpp"
#include "raind/sys/files.hpp"

namespace raind::testing::containers {

namespace fs = std::filesystem;

inline fs::path test_image_dir() {
  if (const char* d = std::getenv("RAIND_TEST_IMAGE_DIR")) return d;
  return fs::path(RAIND_BINARY_DIR) / "test-image";
}

inline std::string cgroup_parent() {
  const char* p = std::getenv("RAIND_TEST_CGROUP_PARENT");
  return p && *p ? p : "raind-containers-test";
}

inline std::vector<std::string> links_with_prefix(const std::string& prefix) {
  auto r = run({"ip", "-o", "link", "show"});
  std::vector<std::string> out;
  std::regex re("^\\d+: ([^:@]+)");
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_search(line, m, re) && m[1].str().rfind(prefix, 0) == 0)
      out.push_back(m[1].str());
  }
  return out;
}

inline std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename());
  return out;
}

// Container cgroup directories left under the test's cgroup parent, in any hierarchy.
inline std::vector<std::string> leftover_cgroups() {
  std::vector<std::string> out;
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    auto second = line.find(':', line.find(':') + 1);
    std::string controllers = line.substr(line.find(':') + 1, second - line.find(':') - 1);
    fs::path own = fs::path(line.substr(second + 1)).relative_path();
    std::vector<fs::path> roots;
    if (controllers.empty()) {
      roots = {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"};
    } else {
      if (controllers.find("name=") != std::string::npos) continue;
      roots = {fs::path("/sys/fs/cgroup") / controllers};
    }
    for (const auto& root : roots) {
      fs::path dir = root / own / cgroup_parent();
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(dir, ec))
        if (e.is_directory()) out.push_back(e.path().string());
    }
  }
  return out;
}

class Containers : public ::testing::Test {
 protected:
  // Extra daemon configuration (YAML appended to the fixture's), for fixtures built on this one.
  virtual std::string extra_config() const { return {}; }

  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    image_ = test_image_dir() / "busybox-oci.tar";
    if (!fs::exists(image_)) GTEST_SKIP() << "fixture image missing: " << image_;
    dir_ = std::make_unique<TempDir>("containers");
    daemon_ = std::make_unique<Daemon>(
        dir_->path(), "runtime:\n  cgroup_parent: " + cgroup_parent() +
                          "\n  nameservers: [198.51.100.2]\n  stop_timeout_s: 3\n" +
                          extra_config());
    ASSERT_TRUE(start_daemon()) << daemon_->output();
    auto imported = raind({"image", "import", image_.string(), "--name", "busybox:latest"});
    ASSERT_EQ(imported.code, 0) << imported.err << daemon_->output();
  }

  void TearDown() override {
    if (!daemon_) return;
    if (daemon_->pid() <= 0) (void)start_daemon();
    if (daemon_->pid() > 0) {
      auto ls = raind({"container", "ls", "-a", "-q"});
      std::istringstream ids(ls.out);
      std::string id;
      while (ids >> id) raind({"container", "rm", "-f", id});
      // Bottles and extra networks too: a bridge left behind would keep its subnet's route in
      // this network namespace and steal the next test's traffic on that subnet.
      auto bottles = nlohmann::json::parse(raind({"bottle", "ls", "--json"}).out, nullptr, false);
      if (bottles.is_array())
        for (const auto& b : bottles) raind({"bottle", "rm", b.value("name", "")});
      auto nets = nlohmann::json::parse(raind({"network", "ls", "--json"}).out, nullptr, false);
      if (nets.is_array())
        for (const auto& n : nets)
          if (n.value("name", "") != "raind0") raind({"network", "rm", n.value("name", "")});
      daemon_->terminate();
    }
    // Whatever the daemon could not remove (a failed test), droplet removes directly.
    for (const auto& id : entries(dir_->path() / "run/droplet"))
      run({(bin_dir() / "droplet").string(), "--root", (dir_->path() / "run/droplet").string(),
           "delete", "--force", id});
    for (const auto& link : links_with_prefix("rd_")) run({"ip", "link", "del", link});
  }

  bool start_daemon(std::vector<std::string> env = {}) {
    if (!daemon_->start(std::move(env))) return false;
    host_ = "https://" + daemon_->management();
    return true;
  }

  std::vector<std::string> raind_argv(std::vector<std::string> args) const {
    args.insert(args.begin(), {(bin_dir() / "raind").string(), "--pki-dir",
                               daemon_->pki_dir().string(), "--host", host_});
    return args;
  }

  raind::testing::Run raind(std::vector<std::string> args) const {
    args.insert(args.begin(), {(bin_dir() / "raind").string(), "--pki-dir",
                               daemon_->pki_dir().string(), "--host", host_});
    return run(args);
  }

  nlohmann::json inspect(const std::string& ref) const {
    auto r = raind({"container", "inspect", ref});
    EXPECT_EQ(r.code, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  // Runs a detached container and returns its id.
  std::string run_detached(std::vector<std::string> args) {
    args.insert(args.begin(), {"container", "run", "-d"});
    auto r = raind(args);
    EXPECT_EQ(r.code, 0) << r.err << "\n" << daemon_->output();
    std::string id = r.out;
    while (!id.empty() && (id.back() == '\n' || id.back() == ' ')) id.pop_back();
    return id;
  }

  bool wait_for_state(const std::string& ref, const std::string& state,
                      std::chrono::seconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto doc = inspect(ref);
      if (doc.is_object() && doc.value("state", "") == state) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // Nothing of any container is left on the host: bundles, runtime states, veths, cgroups,
  // mounts under the daemon's root.
  void expect_host_clean() {
    std::string mounts = raind::sys::read_file("/proc/self/mountinfo").value_or("");
    EXPECT_EQ(mounts.find(dir_->path().string() + "/"), std::string::npos) << mounts;
    EXPECT_TRUE(entries(dir_->path() / "state/containers").empty());
    EXPECT_TRUE(entries(dir_->path() / "run/droplet").empty());
    EXPECT_TRUE(links_with_prefix("rd_").empty());
    EXPECT_TRUE(leftover_cgroups().empty()) << ::testing::PrintToString(leftover_cgroups());
  }

  fs::path image_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Daemon> daemon_;
  std::string host_;
};

}  // namespace raind::testing::containers

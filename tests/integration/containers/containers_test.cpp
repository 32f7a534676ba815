// Containers end to end: the real raind CLI → condenserd → droplet, in the sandbox's own network,
// mount and PID namespaces, with the fixture busybox image. Each test gets its own daemon and
// state root; containers go under the sandbox's cgroup parent.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include <fstream>
#include <regex>
#include <set>

#include "../condenser/harness.hpp"
#include "raind/sys/files.hpp"

using namespace raind::testing;
namespace fs = std::filesystem;

namespace {

fs::path test_image_dir() {
  if (const char* d = std::getenv("RAIND_TEST_IMAGE_DIR")) return d;
  return fs::path(RAIND_BINARY_DIR) / "test-image";
}

std::string cgroup_parent() {
  const char* p = std::getenv("RAIND_TEST_CGROUP_PARENT");
  return p && *p ? p : "raind-containers-test";
}

std::vector<std::string> links_with_prefix(const std::string& prefix) {
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

std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename());
  return out;
}

// Container cgroup directories left under the test's cgroup parent, in any hierarchy.
std::vector<std::string> leftover_cgroups() {
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

// A program on a pseudo-terminal, as an operator's shell would run it.
class PtyProcess {
 public:
  explicit PtyProcess(const std::vector<std::string>& argv) {
    winsize size{24, 80, 0, 0};
    pid_ = ::forkpty(&master_, nullptr, nullptr, &size);
    if (pid_ == 0) {
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
  }
  ~PtyProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) ::close(master_);
  }
  void type(std::string_view text) { (void)!::write(master_, text.data(), text.size()); }
  void resize(unsigned short rows, unsigned short cols) {
    winsize size{rows, cols, 0, 0};
    ::ioctl(master_, TIOCSWINSZ, &size);  // the kernel sends SIGWINCH to the foreground group
  }
  // Reads whatever arrives within `limit`.
  void drain(std::chrono::milliseconds limit) {
    pollfd p{master_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return;
    char buf[4096];
    ssize_t n = ::read(master_, buf, sizeof buf);
    if (n > 0) output_.append(buf, static_cast<std::size_t>(n));
  }
  // Reads until `needle` appears in the output after what earlier calls matched.
  bool read_until(const std::string& needle,
                  std::chrono::seconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (output_.find(needle, consumed_) == std::string::npos) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      drain(std::chrono::milliseconds(100));
    }
    consumed_ = output_.find(needle, consumed_) + needle.size();
    return true;
  }
  // Exit code once the program ends (reading the terminal meanwhile), -1 on timeout.
  int wait(std::chrono::seconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      drain(std::chrono::milliseconds(50));
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        drain(std::chrono::milliseconds(50));
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
    }
    return -1;
  }
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int master_ = -1;
  std::string output_;
  std::size_t consumed_ = 0;
};

class Containers : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    image_ = test_image_dir() / "busybox-oci.tar";
    if (!fs::exists(image_)) GTEST_SKIP() << "fixture image missing: " << image_;
    dir_ = std::make_unique<TempDir>("containers");
    daemon_ = std::make_unique<Daemon>(
        dir_->path(), "runtime:\n  cgroup_parent: " + cgroup_parent() +
                          "\n  nameservers: [198.51.100.2]\n  stop_timeout_s: 3\n");
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

}  // namespace

TEST_F(Containers, RunLsLogsExecStopStartRemove) {
  std::string id = run_detached(
      {"--name", "web", "busybox:latest", "sh", "-c", "echo hello from web; exec sleep 1000"});
  ASSERT_EQ(id.size(), 12u) << id;

  auto ls = raind({"container", "ls"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  EXPECT_NE(ls.out.find("CONTAINER ID"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find(id), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("web"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("Up"), std::string::npos) << ls.out;

  // Output reaches the log through droplet's shim.
  std::string logs;
  for (int i = 0; i < 50 && logs.find("hello from web") == std::string::npos; ++i) {
    logs = raind({"container", "logs", "web"}).out;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_NE(logs.find("hello from web"), std::string::npos) << logs;

  auto doc = inspect("web");
  EXPECT_EQ(doc.value("state", ""), "running");
  EXPECT_EQ(doc.value("spiffe_id", ""), "spiffe://raind/container/" + id) << doc.dump();
  EXPECT_TRUE(std::regex_match(doc.value("ip", ""), std::regex("10\\.166\\.0\\.\\d+")));

  // exec returns output and the exit code; the container sees its own identity files.
  auto exec = raind({"container", "exec", "web", "cat", "/etc/hostname"});
  EXPECT_EQ(exec.code, 0) << exec.err;
  EXPECT_EQ(exec.out, id + "\n");
  auto failing = raind({"container", "exec", "web", "sh", "-c", "echo oops >&2; exit 3"});
  EXPECT_EQ(failing.code, 3);
  EXPECT_NE(failing.err.find("oops"), std::string::npos) << failing.err;
  auto hosts = raind({"container", "exec", "web", "cat", "/etc/hosts"});
  EXPECT_NE(hosts.out.find(doc.value("ip", "?")), std::string::npos) << hosts.out;

  // `sleep` as PID 1 has no handler for TERM, which the kernel then ignores: stop waits out the
  // grace period (3 s here) and kills.
  auto stop = raind({"container", "stop", "web"});
  ASSERT_EQ(stop.code, 0) << stop.err;
  doc = inspect("web");
  EXPECT_EQ(doc.value("state", ""), "stopped");
  EXPECT_EQ(doc.value("exit_code", -1), 128 + SIGKILL) << doc.dump();
  EXPECT_EQ(raind({"container", "ls"}).out.find("web"), std::string::npos);
  auto all = raind({"container", "ls", "-a"});
  EXPECT_NE(all.out.find("Exited (137)"), std::string::npos) << all.out;

  auto exec_stopped = raind({"container", "exec", "web", "true"});
  EXPECT_NE(exec_stopped.code, 0);
  EXPECT_NE(exec_stopped.err.find("not running"), std::string::npos) << exec_stopped.err;

  auto start = raind({"container", "start", "web"});
  ASSERT_EQ(start.code, 0) << start.err << daemon_->output();
  EXPECT_EQ(inspect("web").value("state", ""), "running");
  EXPECT_EQ(inspect("web").value("ip", ""), doc.value("ip", "")) << "address kept on restart";

  auto rm_running = raind({"container", "rm", "web"});
  EXPECT_NE(rm_running.code, 0);
  EXPECT_NE(rm_running.err.find("running"), std::string::npos) << rm_running.err;
  auto rm = raind({"container", "rm", "-f", "web"});
  ASSERT_EQ(rm.code, 0) << rm.err;
  EXPECT_NE(raind({"container", "inspect", "web"}).code, 0);
  expect_host_clean();

  // The audit log names the container for each lifecycle call.
  bool audited = false;
  for (const auto& rec : daemon_->audit())
    if (rec.value("action", "") == "container.delete" && rec.dump().find(id) != std::string::npos)
      audited = true;
  EXPECT_TRUE(audited);
}

TEST_F(Containers, ForegroundRunReturnsTheExitCodeAndRmRemoves) {
  auto r = raind({"container", "run", "--rm", "busybox:latest", "sh", "-c", "echo out; exit 7"});
  EXPECT_EQ(r.code, 7) << r.err << daemon_->output();
  EXPECT_NE(r.out.find("out"), std::string::npos) << r.out;
  EXPECT_EQ(raind({"container", "ls", "-a", "-q"}).out, "");
  expect_host_clean();
}

TEST_F(Containers, TwoContainersGetDistinctAddressesAndReachTheGateway) {
  std::string a = run_detached({"busybox:latest", "sleep", "1000"});
  std::string b = run_detached({"busybox:latest", "sleep", "1000"});
  auto ip_a = inspect(a).value("ip", "");
  auto ip_b = inspect(b).value("ip", "");
  EXPECT_NE(ip_a, ip_b);
  EXPECT_FALSE(ip_a.empty());
  for (const auto& id : {a, b}) {
    auto ping = raind({"container", "exec", id, "ping", "-c", "1", "-W", "2", "10.166.0.254"});
    EXPECT_EQ(ping.code, 0) << ping.out << ping.err;
  }
  auto nets = raind({"network", "ls"});
  EXPECT_NE(nets.out.find("raind0"), std::string::npos) << nets.out;
  EXPECT_NE(nets.out.find("10.166.0.0/24"), std::string::npos) << nets.out;
}

TEST_F(Containers, PublishedPortAnswersFromOutsideAndFromTheHost) {
  const char* outside = std::getenv("RAIND_OUTSIDE_NETNS");
  if (!outside) GTEST_SKIP() << "needs the sandbox's outside namespace";
  std::string id =
      run_detached({"-p", "8080:80", "busybox:latest", "httpd", "-f", "-p", "80", "-h", "/etc"});
  EXPECT_EQ(inspect(id)["ports"][0], "0.0.0.0:8080->80/tcp");
  auto fetch = [&](std::vector<std::string> prefix) {
    raind::testing::Run r;
    for (int i = 0; i < 40; ++i) {
      auto argv = prefix;
      argv.insert(argv.end(),
                  {"curl", "-sS", "--max-time", "2", "http://198.51.100.1:8080/hostname"});
      r = run(argv);
      if (r.code == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return r;
  };
  auto from_outside = fetch({"ip", "netns", "exec", outside});
  EXPECT_EQ(from_outside.code, 0) << from_outside.err;
  EXPECT_EQ(from_outside.out, id + "\n");
  auto from_host = fetch({});
  EXPECT_EQ(from_host.code, 0) << from_host.err;
  EXPECT_EQ(from_host.out, id + "\n");
  // Hairpin: another container reaches the published port through the host address.
  std::string client = run_detached({"busybox:latest", "sleep", "1000"});
  // (busybox wget crashes with -T; the applet `timeout` bounds it instead)
  auto hairpin = raind({"container", "exec", client, "timeout", "5", "wget", "-q", "-O", "-",
                        "http://198.51.100.1:8080/hostname"});
  EXPECT_EQ(hairpin.code, 0) << hairpin.err;
  EXPECT_EQ(hairpin.out, id + "\n");

  // The same host port cannot be published twice.
  auto clash = raind({"container", "create", "-p", "8080:81", "busybox:latest", "true"});
  EXPECT_NE(clash.code, 0);
  EXPECT_NE(clash.err.find("already published"), std::string::npos) << clash.err;
}

TEST_F(Containers, LimitsHold) {
  // Memory: the shell grows a string past 32 MiB and is OOM-killed.
  auto oom = raind({"container", "run", "--name", "hog", "--memory", "32m", "busybox:latest", "sh",
                    "-c", "x=$(head -c 67108864 /dev/zero | tr '\\0' a); echo ${#x}"});
  EXPECT_NE(oom.code, 0) << oom.out;
  auto hog = inspect("hog");
  EXPECT_TRUE(hog.value("oom_killed", false)) << hog.dump();
  EXPECT_EQ(hog.value("exit_code", 0), 137) << hog.dump();

  // Pids: a fork bomb hits the limit and the container reports it.
  auto bomb = raind({"container", "run", "--pids-limit", "12", "busybox:latest", "sh", "-c",
                     "n=0; for i in $(seq 1 40); do sleep 5 & n=$((n+1)); done; echo started $n"});
  EXPECT_NE(bomb.out + bomb.err, "");
  EXPECT_TRUE(bomb.out.find("can't fork") != std::string::npos ||
              bomb.out.find("Resource temporarily unavailable") != std::string::npos)
      << bomb.out << bomb.err;

  // Read-only root: writes are refused.
  auto ro = raind({"container", "run", "--read-only", "busybox:latest", "sh", "-c",
                   "touch /probe && echo wrote"});
  EXPECT_NE(ro.code, 0);
  EXPECT_NE(ro.out.find("Read-only file system"), std::string::npos) << ro.out << ro.err;
}

TEST_F(Containers, BadInputIsRefusedAndNothingIsLeft) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  fs::create_directories(dir_->path() / "vol");
  const std::vector<Case> cases = {
      {{"nosuchimage:1"}, "nosuchimage"},
      {{"-p", "80:http", "busybox:latest"}, "port"},
      {{"-p", "70000:80", "busybox:latest"}, "port"},
      {{"--name", "bad name!", "busybox:latest"}, "name"},
      {{"-v", "/:/host", "busybox:latest"}, "/"},
      {{"-v", "/etc/raind:/x", "busybox:latest"}, "/etc/raind"},
      {{"-v", (dir_->path() / "vol/../../..").string() + ":/x", "busybox:latest"}, "protected"},
      {{"-v", (dir_->path() / "state").string() + ":/x", "busybox:latest"}, "protected"},
      {{"--network", "nonet", "busybox:latest"}, "nonet"},
  };
  for (const auto& c : cases) {
    auto args = c.args;
    args.insert(args.begin(), {"container", "create"});
    args.push_back("true");
    auto r = raind(args);
    EXPECT_NE(r.code, 0) << ::testing::PrintToString(c.args);
    EXPECT_NE(r.err.find(c.message), std::string::npos)
        << ::testing::PrintToString(c.args) << " → " << r.err;
  }
  EXPECT_EQ(raind({"container", "ls", "-a", "-q"}).out, "");
  expect_host_clean();

  // A name is unique.
  ASSERT_EQ(raind({"container", "create", "--name", "twin", "busybox:latest", "true"}).code, 0);
  auto twin = raind({"container", "create", "--name", "twin", "busybox:latest", "true"});
  EXPECT_NE(twin.code, 0);
  EXPECT_NE(twin.err.find("already in use"), std::string::npos) << twin.err;
}

TEST_F(Containers, RunningContainersSurviveADaemonCrash) {
  std::string id = run_detached({"--name", "survivor", "busybox:latest", "sleep", "1000"});
  auto before = inspect(id);
  daemon_->kill9();
  // The container keeps running without the daemon.
  EXPECT_EQ(::kill(static_cast<pid_t>(before.value("pid", 0)), 0), 0);
  ASSERT_TRUE(start_daemon()) << daemon_->output();
  auto after = inspect("survivor");
  EXPECT_EQ(after.value("state", ""), "running") << after.dump();
  EXPECT_EQ(after.value("pid", 0), before.value("pid", 1));
  EXPECT_EQ(after.value("ip", ""), before.value("ip", "?"));
  auto exec = raind({"container", "exec", "survivor", "echo", "still here"});
  EXPECT_EQ(exec.out, "still here\n") << exec.err;
  // A container that exits while the daemon is down is seen as stopped afterwards.
  daemon_->kill9();
  ::kill(static_cast<pid_t>(before.value("pid", 0)), SIGKILL);
  ASSERT_TRUE(start_daemon()) << daemon_->output();
  EXPECT_TRUE(wait_for_state("survivor", "stopped"));
  EXPECT_EQ(inspect("survivor").value("exit_code", 0), 137);
}

TEST_F(Containers, CrashDuringCreateLeavesNothingBehind) {
  for (const std::string point :
       {"create.after_insert", "create.after_bundle", "create.after_runtime"}) {
    SCOPED_TRACE(point);
    daemon_->terminate();
    ASSERT_TRUE(start_daemon({"RAIND_TEST_CRASH_AT=" + point})) << daemon_->output();
    auto r = raind({"container", "create", "--name", "phoenix", "-p", "9090:80", "busybox:latest",
                    "sleep", "1000"});
    EXPECT_NE(r.code, 0) << "the daemon should have died at " << point;
    daemon_->kill9();
    ASSERT_TRUE(start_daemon()) << daemon_->output();
    EXPECT_EQ(raind({"container", "ls", "-a", "-q"}).out, "");
    expect_host_clean();
    auto nat = run({"iptables-save", "-t", "nat"});
    EXPECT_EQ(nat.out.find("9090"), std::string::npos) << nat.out;
    // The address was not leaked: the next container gets the first one again.
    auto id = raind({"container", "create", "--name", "phoenix", "busybox:latest", "true"});
    ASSERT_EQ(id.code, 0) << id.err << daemon_->output();
    EXPECT_EQ(inspect("phoenix").value("ip", ""), "10.166.0.1");
    auto removed = raind({"container", "rm", "-f", "phoenix"});
    ASSERT_EQ(removed.code, 0) << removed.err << daemon_->output();
  }
}

TEST_F(Containers, CrashDuringDeleteFinishesTheDelete) {
  for (const std::string point :
       {"delete.after_mark", "delete.after_runtime", "delete.after_bundle"}) {
    SCOPED_TRACE(point);
    std::string id =
        run_detached({"--name", "doomed", "-p", "9191:80", "busybox:latest", "sleep", "1000"});
    daemon_->terminate();
    ASSERT_TRUE(start_daemon({"RAIND_TEST_CRASH_AT=" + point})) << daemon_->output();
    EXPECT_NE(raind({"container", "rm", "-f", "doomed"}).code, 0);
    daemon_->kill9();
    ASSERT_TRUE(start_daemon()) << daemon_->output();
    EXPECT_NE(raind({"container", "inspect", "doomed"}).code, 0);
    expect_host_clean();
    auto nat = run({"iptables-save", "-t", "nat"});
    EXPECT_EQ(nat.out.find("9191"), std::string::npos) << nat.out;
  }
}

TEST_F(Containers, RestartPolicyOnFailure) {
  auto r = raind({"container", "run", "-d", "--name", "flaky", "--restart", "on-failure:2",
                  "busybox:latest", "sh", "-c", "echo attempt; exit 1"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  nlohmann::json doc;
  while (std::chrono::steady_clock::now() < deadline) {
    doc = inspect("flaky");
    if (doc.value("restart_count", 0) == 2 && doc.value("state", "") == "stopped") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(doc.value("restart_count", 0), 2) << doc.dump();
  EXPECT_EQ(doc.value("state", ""), "stopped");
  EXPECT_EQ(doc.value("exit_code", 0), 1);
}

TEST_F(Containers, NetworksCreateListRemove) {
  auto created = raind({"network", "create", "backend"});
  ASSERT_EQ(created.code, 0) << created.err << daemon_->output();
  auto ls = raind({"network", "ls"});
  EXPECT_NE(ls.out.find("backend"), std::string::npos);
  EXPECT_NE(ls.out.find("10.166.1.0/24"), std::string::npos) << ls.out;
  std::string id = run_detached({"--network", "backend", "busybox:latest", "sleep", "1000"});
  EXPECT_EQ(inspect(id).value("ip", ""), "10.166.1.1");
  auto busy = raind({"network", "rm", "backend"});
  EXPECT_NE(busy.code, 0);
  EXPECT_NE(busy.err.find("used by"), std::string::npos) << busy.err;
  ASSERT_EQ(raind({"container", "rm", "-f", id}).code, 0);
  EXPECT_EQ(raind({"network", "rm", "backend"}).code, 0);
  EXPECT_NE(raind({"network", "create", "this-name-is-too-long"}).code, 0);
  EXPECT_NE(raind({"network", "rm", "raind0"}).code, 0);
}

TEST_F(Containers, InteractiveTerminalRunResizeDetachAttach) {
  {
    PtyProcess run(
        raind_argv({"container", "run", "-t", "--name", "shell", "busybox:latest", "sh"}));
    // The typed line is echoed as typed; only the shell's output joins the two halves.
    run.type("echo hel\"\"lo\r");
    ASSERT_TRUE(run.read_until("hello")) << run.output() << daemon_->output();
    run.resize(40, 100);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    run.type("stty size\r");
    EXPECT_TRUE(run.read_until("40 100")) << run.output();
    run.type("\x10\x11");  // Ctrl-P Ctrl-Q
    EXPECT_EQ(run.wait(), 0) << run.output();
    EXPECT_NE(run.output().find("detached"), std::string::npos) << run.output();
  }
  EXPECT_EQ(inspect("shell").value("state", ""), "running");
  {
    // exec -t: a second terminal in the same container, with its own exit code.
    PtyProcess exec(raind_argv({"container", "exec", "-t", "shell", "sh"}));
    exec.type("echo in\"\"side\r");
    EXPECT_TRUE(exec.read_until("inside")) << exec.output();
    exec.type("exit 4\r");
    EXPECT_EQ(exec.wait(), 4) << exec.output();
  }
  {
    PtyProcess attach(raind_argv({"container", "attach", "shell"}));
    ASSERT_TRUE(attach.read_until("Detach with Ctrl-P Ctrl-Q")) << attach.output();
    attach.type("echo again\"\"x\r");
    EXPECT_TRUE(attach.read_until("againx")) << attach.output();
    attach.type("exit 3\r");
    EXPECT_EQ(attach.wait(), 3) << attach.output();
  }
  EXPECT_TRUE(wait_for_state("shell", "stopped"));
  EXPECT_EQ(inspect("shell").value("exit_code", -1), 3);
  // The terminal's output is the container's log too.
  EXPECT_NE(raind({"container", "logs", "shell"}).out.find("againx"), std::string::npos);
  // Attach needs a terminal container that is running.
  auto refused = raind({"container", "attach", "shell"});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("not running"), std::string::npos) << refused.err;
}

TEST_F(Containers, VolumesUserWorkdirEnvAndHostname) {
  // Outside the daemon's own directories, which no volume may expose.
  TempDir volume("volume");
  const fs::path data = volume.path();
  fs::permissions(data, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  { std::ofstream(data / "greeting") << "from the host\n"; }
  auto r = raind({"container", "run", "--rm", "-v", data.string() + ":/data:ro", "-v",
                  data.string() + ":/rw", "--user", "1000:1000", "--workdir", "/data", "-e",
                  "COLOR=blue", "--hostname", "box", "busybox:latest", "sh", "-c",
                  "cat greeting; id -u; id -g; echo $COLOR; hostname; pwd; "
                  "touch /data/x 2>/dev/null && echo ro-broken || echo ro-held"});
  EXPECT_EQ(r.code, 0) << r.err << daemon_->output();
  EXPECT_EQ(r.out, "from the host\n1000\n1000\nblue\nbox\n/data\nro-held\n") << r.out;
  // A writable volume is writable (root in the container, no forced noexec).
  auto rw =
      raind({"container", "run", "--rm", "-v", data.string() + ":/rw", "busybox:latest", "sh", "-c",
             "printf '#!/bin/sh\\necho ran\\n' > /rw/tool && chmod +x /rw/tool && /rw/tool"});
  EXPECT_EQ(rw.out, "ran\n") << rw.err;
  EXPECT_TRUE(fs::exists(data / "tool"));
  expect_host_clean();
}

TEST_F(Containers, LogsFollowStreamsUntilTheContainerStops) {
  std::string id = run_detached(
      {"busybox:latest", "sh", "-c", "for i in 1 2 3; do echo line$i; sleep 0.4; done"});
  const auto t0 = std::chrono::steady_clock::now();
  auto followed = raind({"container", "logs", "-f", id});
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(followed.code, 0) << followed.err;
  EXPECT_EQ(followed.out, "line1\nline2\nline3\n");
  EXPECT_GT(took, std::chrono::milliseconds(500)) << "returned before the container stopped";
  EXPECT_EQ(inspect(id).value("state", ""), "stopped");
  auto tail = raind({"container", "logs", "-n", "1", id});
  EXPECT_EQ(tail.out, "line3\n");
  auto bad = raind({"container", "logs", "-f", "nosuchcontainer"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("does not exist"), std::string::npos) << bad.err;
}

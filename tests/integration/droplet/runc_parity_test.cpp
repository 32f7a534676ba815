// droplet measured against runc on the same bundle (the shared busybox test image with
// /bin/raind-probe): what the process observes, the state JSON shape, and exit statuses of the
// lifecycle's error cases must match.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Out {
  int code = -1;
  std::string out, err;
};

Out run(const std::vector<std::string>& argv) {
  char outf[] = "/tmp/parity-out-XXXXXX", errf[] = "/tmp/parity-err-XXXXXX";
  int o = mkstemp(outf), e = mkstemp(errf);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(o, 1);
    dup2(e, 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  close(o);
  close(e);
  auto slurp = [](const char* p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    unlink(p);
    return ss.str();
  };
  return {WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), slurp(outf), slurp(errf)};
}

class RuncParity : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    droplet_ = std::string(std::getenv("RAIND_BIN_DIR") ? std::getenv("RAIND_BIN_DIR")
                                                        : RAIND_BINARY_DIR "/bin") +
               "/droplet";
    if (access(droplet_.c_str(), X_OK) != 0) GTEST_SKIP() << "droplet not built";
    if (run({"runc", "--version"}).code != 0) GTEST_SKIP() << "runc not installed";
    char tmpl[] = "/tmp/droplet-parity-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto img = run({std::string(RAIND_SOURCE_DIR) + "/scripts/build-test-image.sh",
                    (dir_ / "image").string()});
    ASSERT_EQ(img.code, 0) << "building the test image failed: " << img.err;
    bundle_ = dir_ / "image/bundle";
    std::ifstream in(bundle_ / "config.json");
    config_ = json::parse(in);
    config_["process"]["terminal"] = false;
  }
  void TearDown() override {
    if (dir_.empty()) return;
    for (const auto& runtime : {std::string("runc"), droplet_})
      for (const auto& id : {"p1", "p2"}) rt(runtime, {"delete", "-f", id});
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void set_args(const std::vector<std::string>& args) {
    config_["process"]["args"] = args;
    std::ofstream(bundle_ / "config.json") << config_.dump(2);
  }
  // runc and droplet keep separate roots (different state formats).
  Out rt(const std::string& runtime, std::vector<std::string> args) {
    std::string root = (dir_ / ("root-" + fs::path(runtime).filename().string())).string();
    std::vector<std::string> argv{runtime, "--root", root};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
  }
  std::string droplet_;
  fs::path dir_, bundle_;
  json config_;
};

TEST_F(RuncParity, ProcessObservesTheSame) {
  for (const auto& probe : std::vector<std::vector<std::string>>{
           {"/bin/raind-probe", "caps"},
           {"/bin/raind-probe", "ids"},
           {"/bin/raind-probe", "seccomp"},
           {"/bin/raind-probe", "nnp"},
           {"/bin/raind-probe", "rlimits"},
           {"/bin/raind-probe", "hostname"},
           {"/bin/raind-probe", "cwd"},
           {"/bin/raind-probe", "pid"},
           {"/bin/raind-probe", "syscall", "mkdir"},
           {"/bin/raind-probe", "write", "/proc/sys/kernel/hostname"}}) {
    set_args(probe);
    auto a = rt("runc", {"run", "--bundle", bundle_.string(), "p1"});
    auto b = rt(droplet_, {"run", "--bundle", bundle_.string(), "p1"});
    EXPECT_EQ(a.code, b.code) << probe[1] << " runc: " << a.err << " droplet: " << b.err;
    EXPECT_EQ(a.out, b.out) << probe[1];
  }
}

TEST_F(RuncParity, StateShapeAndLifecycleErrors) {
  set_args({"sleep", "100"});
  for (const auto& r : {std::string("runc"), droplet_}) {
    SCOPED_TRACE(r);
    ASSERT_EQ(rt(r, {"create", "--bundle", bundle_.string(), "p2"}).code, 0);
  }
  auto sa = json::parse(rt("runc", {"state", "p2"}).out);
  auto sb = json::parse(rt(droplet_, {"state", "p2"}).out);
  for (const auto& key : {"id", "pid", "status", "bundle", "rootfs", "created", "ociVersion"}) {
    EXPECT_TRUE(sa.contains(key)) << key;
    EXPECT_TRUE(sb.contains(key)) << key;
  }
  EXPECT_EQ(sa["status"], sb["status"]);
  EXPECT_EQ(sa["bundle"], sb["bundle"]);
  // The same sequence of operations gives the same exit statuses.
  std::vector<std::vector<std::string>> steps = {
      {"create", "--bundle", bundle_.string(), "p2"},  // duplicate id
      {"state", "nope"},
      {"start", "p2"},
      {"start", "p2"},   // twice
      {"delete", "p2"},  // running
      {"kill", "p2", "KILL"},
      {"kill", "nope", "KILL"},
      {"pause", "nope"}};
  for (const auto& step : steps) {
    auto a = rt("runc", step);
    auto b = rt(droplet_, step);
    EXPECT_EQ(a.code, b.code) << step[0] << " runc: " << a.err << " droplet: " << b.err;
    if (step[0] == "kill" && step[1] == "p2") usleep(300000);
  }
  auto ea = json::parse(rt("runc", {"state", "p2"}).out);
  auto eb = json::parse(rt(droplet_, {"state", "p2"}).out);
  EXPECT_EQ(ea["status"], eb["status"]);
  EXPECT_EQ(rt("runc", {"delete", "p2"}).code, rt(droplet_, {"delete", "p2"}).code);
}

}  // namespace

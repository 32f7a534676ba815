// Root-only tests of condenser/flowlog in scripts/sandbox.sh's private network namespace: a peer
// netns behind a veth, an iptables NFLOG rule on pings to it, and the pipeline (managed mode:
// our own ulogd child; file mode: ulogd writing a file we tail).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <future>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "condenser/flowlog/pipeline.hpp"
#include "raind/sys/process.hpp"
#include "raind/sys/temp_dir.hpp"
#include "raind/unique_fd.hpp"

namespace fl = raind::condenser::flowlog;
namespace id = raind::condenser::identity;
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr const char* kPeerNs = "rdflpeer";
constexpr const char* kVeth = "rdfl0";
constexpr const char* kLocalIp = "10.199.0.1";
constexpr const char* kPeerIp = "10.199.0.2";

raind::sys::RunResult run_cmd(const std::vector<std::string>& argv) {
  raind::sys::RunOptions options;
  options.timeout = std::chrono::seconds(30);
  auto r = raind::sys::run(argv, options);
  if (!r) {
    ADD_FAILURE() << argv[0] << ": " << r.error().what();
    return {};
  }
  return *r;
}

void must(const std::vector<std::string>& argv) {
  auto r = run_cmd(argv);
  std::string joined;
  for (const auto& a : argv) joined += a + " ";
  ASSERT_EQ(r.status.shell_code(), 0) << joined << ": " << r.err;
}

std::vector<std::string> nflog_rule(int group, const std::string& prefix) {
  return {"OUTPUT",
          "-o",
          kVeth,
          "-p",
          "icmp",
          "-d",
          kPeerIp,
          "-j",
          "NFLOG",
          "--nflog-group",
          std::to_string(group),
          "--nflog-prefix",
          prefix};
}

// A peer netns behind a veth plus NFLOG rules; all removed in the destructor, even on failure.
class Topology {
 public:
  void set_up() {
    must({"ip", "netns", "add", kPeerNs});
    must({"ip", "link", "add", kVeth, "type", "veth", "peer", "name", "eth0", "netns", kPeerNs});
    must({"ip", "addr", "add", std::string(kLocalIp) + "/24", "dev", kVeth});
    must({"ip", "link", "set", kVeth, "up"});
    must({"ip", "-n", kPeerNs, "addr", "add", std::string(kPeerIp) + "/24", "dev", "eth0"});
    must({"ip", "-n", kPeerNs, "link", "set", "eth0", "up"});
    must({"ip", "-n", kPeerNs, "link", "set", "lo", "up"});
  }
  void add_rule(int group, const std::string& prefix) {
    auto rule = nflog_rule(group, prefix);
    std::vector<std::string> argv = {"iptables", "-I"};
    argv.insert(argv.end(), rule.begin(), rule.end());
    must(argv);
    rules_.push_back(rule);
  }
  ~Topology() {
    for (const auto& rule : rules_) {
      std::vector<std::string> argv = {"iptables", "-D"};
      argv.insert(argv.end(), rule.begin(), rule.end());
      (void)raind::sys::run(argv);
    }
    (void)raind::sys::run({"ip", "link", "del", kVeth});
    (void)raind::sys::run({"ip", "netns", "del", kPeerNs});
  }

 private:
  std::vector<std::vector<std::string>> rules_;
};

void ping(int count) {
  must({"ping", "-n", "-q", "-c", std::to_string(count), "-i", "0.2", "-W", "1", kPeerIp});
}

std::vector<json> read_records(const fs::path& p) {
  std::ifstream in(p);
  std::vector<json> out;
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout = 15s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

raind::UniqueFd connect_unix(const fs::path& path) {
  raind::UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) fd.reset();
  return fd;
}

void send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// The daemon's shape: the pipeline lives on an io_context run by its own thread.
class PipelineFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (run through scripts/sandbox.sh)";
    if (!std::getenv("RAIND_TEST_ROOT")) GTEST_SKIP() << "run inside scripts/sandbox.sh";
    auto dir = raind::sys::TempDir::create("flowlog");
    ASSERT_TRUE(dir) << dir.error().what();
    tmp_ = std::move(*dir);
    directory_.publish(
        {{"01kgpeer", "peer", "spiffe://raind/container/01kgpeer", kVeth, kPeerIp, ""}},
        {*id::parse_ipv4_net("10.199.0.0/24")});
    options_.run_dir = tmp_ / "run";
    options_.log_dir = tmp_ / "log";
    options_.restart_backoff_initial = 100ms;
    topology_.set_up();
  }

  void start_pipeline() {
    auto p = fl::Pipeline::start(io_.get_executor(), directory_, options_);
    ASSERT_TRUE(p) << p.error().what();
    pipeline_ = std::move(*p);
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override {
    if (thread_.joinable()) {
      std::promise<void> stopped;
      boost::asio::post(io_, [&] {
        pipeline_.reset();  // stop(): on the io thread
        stopped.set_value();
      });
      stopped.get_future().wait();
      guard_.reset();
      io_.stop();
      thread_.join();
    }
    pipeline_.reset();
  }

  std::vector<json> records_with(const std::string& hint) {
    std::vector<json> out;
    for (auto& r : read_records(pipeline_->output_path()))
      if (r["rule_hint"] == hint) out.push_back(r);
    return out;
  }

  raind::sys::TempDir tmp_;
  Topology topology_;
  id::Directory directory_;
  fl::PipelineOptions options_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      io_.get_executor()};
  std::unique_ptr<fl::Pipeline> pipeline_;
  std::thread thread_;
};

void expect_ping_record(const json& r, int seq) {
  static const std::regex ts(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d$)");
  static const std::regex rts(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}[+-]\d\d:\d\d$)");
  EXPECT_TRUE(std::regex_match(r["generated_ts"].get<std::string>(), ts)) << r;
  EXPECT_TRUE(std::regex_match(r["received_ts"].get<std::string>(), rts)) << r;
  EXPECT_EQ(r["event_type"], "log.netflow");
  EXPECT_EQ(r["policy"], json({{"source", "predefined"}}));
  EXPECT_EQ(r["kind"], "east-west");
  EXPECT_EQ(r["verdict"], "deny");
  EXPECT_EQ(r["proto"], "ICMP");
  EXPECT_EQ(r["src"], json({{"kind", "container_unresolved"}, {"ip", kLocalIp}}));
  EXPECT_EQ(r["dst"], json({{"kind", "container"},
                            {"ip", kPeerIp},
                            {"container_id", "01kgpeer"},
                            {"container_name", "peer"},
                            {"spiffe_id", "spiffe://raind/container/01kgpeer"},
                            {"veth", kVeth}}));
  EXPECT_EQ(r["icmp"], json({{"type", 8}, {"code", 0}, {"seq", seq}}));
  EXPECT_EQ(r["unresolved"], true);
  EXPECT_EQ(r["reason"], "src ip not mapped");
  EXPECT_EQ(r["raw_hash"].get<std::string>().size(), 64u);
}

}  // namespace

TEST_F(PipelineFixture, ManagedUlogdRealTrafficRestartAndBadInput) {
  const std::string hint = "RAIND-EW-DENY,id=predefined";
  topology_.add_rule(10, hint);
  options_.mode = fl::SourceMode::managed;
  start_pipeline();
  // One connection per stack (groups 10, 11, 12) once ulogd is up.
  ASSERT_TRUE(wait_for([&] { return pipeline_->counters().connections_open == 3; }))
      << "ulogd did not connect; see " << (options_.run_dir / "ulogd.console").string();
  pid_t first = pipeline_->ulogd_pid();
  ASSERT_GT(first, 0);
  EXPECT_TRUE(fs::exists(options_.run_dir / "ulogd.conf"));

  ping(3);
  ASSERT_TRUE(wait_for([&] { return records_with(hint).size() == 3; }));
  auto records = records_with(hint);
  for (int i = 0; i < 3; ++i) expect_ping_record(records[i], i + 1);

  // ulogd dies: it is restarted, reconnects, and later packets are logged again.
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  ASSERT_TRUE(wait_for([&] {
    auto c = pipeline_->counters();
    pid_t now = pipeline_->ulogd_pid();
    return c.ulogd_restarts == 1 && now > 0 && now != first && c.connections_open == 3;
  }));
  EXPECT_EQ(pipeline_->counters().ulogd_starts, 2u);
  ping(2);
  ASSERT_TRUE(wait_for([&] { return records_with(hint).size() == 5; }));
  records = records_with(hint);
  expect_ping_record(records[3], 1);
  expect_ping_record(records[4], 2);

  // Garbage straight into the socket: counted, and the pipeline keeps going.
  auto before = pipeline_->counters();
  {
    auto client = connect_unix(pipeline_->socket_path());
    ASSERT_TRUE(client);
    send_all(client.get(), "garbage\n{\"oob.prefix\":1}\n[]\n");
    send_all(client.get(), std::string(200 * 1024, 'z') + "\n");
    std::ifstream sample(RAIND_FLOWLOG_SAMPLE);
    std::string line;
    std::getline(sample, line);
    send_all(client.get(), line + "\n");
    ASSERT_TRUE(wait_for([&] {
      auto c = pipeline_->counters();
      return c.written == before.written + 1 && c.oversized == before.oversized + 1 &&
             c.malformed == before.malformed + 3;
    }));
  }
  ping(1);
  ASSERT_TRUE(wait_for([&] { return records_with(hint).size() == 6; }));
  auto c = pipeline_->counters();
  EXPECT_EQ(c.received, c.written + c.malformed + c.oversized + c.dropped);
  EXPECT_EQ(c.dropped, 0u);

  // Stop kills and reaps our ulogd.
  pid_t last = pipeline_->ulogd_pid();
  std::promise<void> stopped;
  boost::asio::post(io_, [&] {
    pipeline_->stop();
    stopped.set_value();
  });
  stopped.get_future().wait();
  EXPECT_EQ(pipeline_->ulogd_pid(), -1);
  EXPECT_NE(::kill(last, 0), 0);
  EXPECT_EQ(errno, ESRCH);
  EXPECT_FALSE(fs::exists(options_.run_dir / "ulogd.sock"));
}

// File mode: ulogd (run by "someone else", here the test) writes JSON to a file; the pipeline
// tails it across a logrotate-style rename + SIGHUP and a truncation.
TEST_F(PipelineFixture, FileModeTailsRealUlogdAcrossRotation) {
  const std::string hint = "RAIND-NS-DENY,id=01kg1kh5dbf2xv1e0n1ramytmt";
  topology_.add_rule(11, hint);
  fs::path ulog = tmp_ / "ulog" / "raind.jsonl";
  fs::create_directories(ulog.parent_path());
  fl::UlogdConfigOptions config;
  config.socket_path = "/unused";  // replaced below: file output instead of the socket
  config.logfile = tmp_ / "ulogd-file.log";
  config.groups = {11};
  auto text = fl::render_ulogd_config(config);
  ASSERT_TRUE(text);
  std::string conf = *text;
  conf.replace(conf.find("mode=\"unix\"\nfile=\"/unused\""),
               std::string("mode=\"unix\"\nfile=\"/unused\"").size(),
               "file=\"" + ulog.string() + "\"");
  fs::path conf_path = tmp_ / "ulogd-file.conf";
  std::ofstream(conf_path) << conf;

  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::execl("/usr/sbin/ulogd", "ulogd", "-c", conf_path.c_str(), nullptr);
    ::_exit(127);
  }
  raind::sys::ChildProcess ulogd(pid);  // SIGKILL + reap at scope end
  ASSERT_TRUE(wait_for([&] { return fs::exists(ulog); })) << "ulogd did not open its file";

  options_.mode = fl::SourceMode::file;
  options_.tail_path = ulog;
  options_.poll_interval = 50ms;
  start_pipeline();
  std::this_thread::sleep_for(100ms);

  ping(2);
  ASSERT_TRUE(wait_for([&] { return records_with(hint).size() == 2; }));
  auto r = records_with(hint)[0];
  EXPECT_EQ(r["kind"], "north-south");
  EXPECT_EQ(r["verdict"], "deny");
  EXPECT_EQ(r["policy"], json({{"source", "user"}, {"id", "01kg1kh5dbf2xv1e0n1ramytmt"}}));
  EXPECT_EQ(r["dst"]["kind"], "container");

  // Rotation: rename, then SIGHUP makes ulogd reopen its file (PLATFORM.md §2).
  fs::rename(ulog, ulog.string() + ".1");
  ASSERT_EQ(::kill(pid, SIGHUP), 0);
  ASSERT_TRUE(wait_for([&] { return fs::exists(ulog); }));
  ping(2);
  ASSERT_TRUE(wait_for([&] { return records_with(hint).size() == 4; }));

  // Truncation in place (copytruncate).
  { std::ofstream trunc(ulog, std::ios::trunc); }
  std::this_thread::sleep_for(200ms);
  ping(1);
  ASSERT_TRUE(wait_for([&] { return records_with(hint).size() == 5; }));
  EXPECT_GE(pipeline_->counters().file_reopens, 2u);
  EXPECT_EQ(pipeline_->counters().malformed, 0u);
}

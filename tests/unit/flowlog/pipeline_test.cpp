// The pipeline's socket and file ingestion without root: listen mode (ulogd run by someone
// else) and file mode. Managed mode, with a real ulogd, is in tests/privileged/flowlog.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "condenser/flowlog/pipeline.hpp"
#include "raind/digest.hpp"
#include "raind/sys/temp_dir.hpp"
#include "raind/unique_fd.hpp"

namespace fl = raind::condenser::flowlog;
namespace id = raind::condenser::identity;
namespace fs = std::filesystem;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> sample_lines() {
  std::ifstream in(RAIND_FLOWLOG_SAMPLE);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

std::vector<json> read_records(const fs::path& p) {
  std::ifstream in(p);
  std::vector<json> out;
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
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

void append_file(const fs::path& p, std::string_view text) {
  std::ofstream out(p, std::ios::app);
  out << text;
}

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = raind::sys::TempDir::create("flowlog");
    ASSERT_TRUE(dir) << dir.error().what();
    tmp_ = std::move(*dir);
    directory_.publish({{"c1id", "c1", "spiffe://raind/container/c1id", "rd_c1", "10.166.0.2", ""},
                        {"c2id", "c2", "", "rd_c2", "10.166.0.3", ""}},
                       {*id::parse_ipv4_net("10.166.0.0/16")});
    options_.run_dir = tmp_ / "run";
    options_.log_dir = tmp_ / "log";
    options_.zone = fl::Zone::fixed(0s);
  }

  std::unique_ptr<fl::Pipeline> start() {
    auto p = fl::Pipeline::start(io_.get_executor(), directory_, options_);
    EXPECT_TRUE(p) << p.error().what();
    return p ? std::move(*p) : nullptr;
  }

  // Runs the io_context until `done` holds (or 10 s pass).
  bool run_until(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_for(5ms);
      io_.restart();
    }
    return true;
  }

  raind::sys::TempDir tmp_;
  id::Directory directory_;
  fl::PipelineOptions options_;
  boost::asio::io_context io_;
};

}  // namespace

TEST(SourceSpec, Parses) {
  fl::PipelineOptions o;
  EXPECT_TRUE(fl::apply_source_spec("listen", o));
  EXPECT_EQ(o.mode, fl::SourceMode::listen);
  EXPECT_TRUE(fl::apply_source_spec("file:/var/log/ulog/raind.jsonl", o));
  EXPECT_EQ(o.mode, fl::SourceMode::file);
  EXPECT_EQ(o.tail_path, "/var/log/ulog/raind.jsonl");
  EXPECT_TRUE(fl::apply_source_spec("managed", o));
  EXPECT_EQ(o.mode, fl::SourceMode::managed);
  for (const char* bad : {"", "file:", "file:relative", "ulogd", "Managed"})
    EXPECT_FALSE(fl::apply_source_spec(bad, o)) << bad;
}

TEST_F(PipelineTest, ManagedModeFailsFastWithoutUlogd) {
  options_.mode = fl::SourceMode::managed;
  options_.ulogd_binary = tmp_ / "no-such-ulogd";
  auto p = fl::Pipeline::start(io_.get_executor(), directory_, options_);
  EXPECT_FALSE(p);
}

TEST_F(PipelineTest, ListenModeAcceptsSeveralConnectionsAndSurvivesBadInput) {
  options_.mode = fl::SourceMode::listen;
  options_.max_line = 4096;
  auto pipeline = start();
  ASSERT_TRUE(pipeline);
  struct stat st {};
  ASSERT_EQ(::lstat(pipeline->socket_path().c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  auto lines = sample_lines();
  // Three concurrent clients, like ulogd's three stacks; records split mid-line across writes.
  std::vector<raind::UniqueFd> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(connect_unix(pipeline->socket_path()));
    ASSERT_TRUE(clients.back());
  }
  ASSERT_TRUE(run_until([&] { return pipeline->counters().connections_open == 3; }));
  send_all(clients[0].get(), lines[0] + "\n" + lines[1].substr(0, 100));
  send_all(clients[1].get(), lines[2] + "\n");
  send_all(clients[2].get(), "this is not json\n[1,2,3]\n{\"no\":\"fields\"}\n\n");
  send_all(clients[2].get(), std::string(10000, 'x') + "\n");  // oversized
  send_all(clients[2].get(), lines[4] + "\n");                 // NS-OBS: unknown prefix
  send_all(clients[0].get(), lines[1].substr(100) + "\n");
  ASSERT_TRUE(run_until([&] { return pipeline->counters().written == 4; }));

  // The pipeline keeps going after all of that.
  send_all(clients[1].get(), lines[3] + "\n");
  ASSERT_TRUE(run_until([&] { return pipeline->counters().written == 5; }));

  auto c = pipeline->counters();
  EXPECT_EQ(c.malformed, 3u);
  EXPECT_EQ(c.oversized, 1u);
  EXPECT_EQ(c.unknown_prefix, 1u);
  EXPECT_EQ(c.dropped, 0u);
  EXPECT_EQ(c.received, c.written + c.malformed + c.oversized + c.dropped);
  EXPECT_EQ(c.connections, 3u);

  auto records = read_records(pipeline->output_path());
  ASSERT_EQ(records.size(), 5u);
  std::multiset<std::string> prefixes;
  for (const auto& r : records) {
    EXPECT_EQ(r["event_type"], "log.netflow");
    prefixes.insert(r["rule_hint"].get<std::string>());
  }
  EXPECT_EQ(prefixes.count("RAIND-EW-ALLOW,id=pol-c1-c2-web"), 1u);
  EXPECT_EQ(prefixes.count("RAIND-EW-DENY,id=default"), 2u);
  EXPECT_EQ(prefixes.count("RAIND-NS-OBS,id=observe"), 1u);
  struct stat out_st {};
  ASSERT_EQ(::stat(pipeline->output_path().c_str(), &out_st), 0);
  EXPECT_EQ(out_st.st_mode & 0777, 0640u);

  // A closed client is noticed; the others keep working.
  clients[2].reset();
  ASSERT_TRUE(run_until([&] { return pipeline->counters().connections_open == 2; }));

  // Stop closes everything and removes the socket; nothing is accepted afterwards.
  fs::path sock = pipeline->socket_path();
  pipeline->stop();
  io_.run_for(20ms);
  EXPECT_FALSE(fs::exists(sock));
  EXPECT_FALSE(connect_unix(sock));
  pipeline.reset();
  io_.run_for(20ms);
}

TEST_F(PipelineTest, ListenModeRefusesConnectionsOverTheLimit) {
  options_.mode = fl::SourceMode::listen;
  options_.max_connections = 2;
  auto pipeline = start();
  ASSERT_TRUE(pipeline);
  std::vector<raind::UniqueFd> clients;
  for (int i = 0; i < 3; ++i) clients.push_back(connect_unix(pipeline->socket_path()));
  ASSERT_TRUE(run_until([&] { return pipeline->counters().connections_refused == 1; }));
  EXPECT_EQ(pipeline->counters().connections_open, 2u);
}

TEST_F(PipelineTest, FileModeFollowsRotationAndTruncation) {
  fs::path src = tmp_ / "ulog" / "raind.jsonl";
  fs::create_directories(src.parent_path());
  auto lines = sample_lines();
  append_file(src, lines[0] + "\n");  // before start: skipped (tail from EOF)
  options_.mode = fl::SourceMode::file;
  options_.tail_path = src;
  options_.poll_interval = 10ms;
  auto pipeline = start();
  ASSERT_TRUE(pipeline);
  io_.run_for(30ms);

  append_file(src, lines[1] + "\n" + lines[2].substr(0, 50));
  ASSERT_TRUE(run_until([&] { return pipeline->counters().written == 1; }));
  append_file(src, lines[2].substr(50) + "\n");
  ASSERT_TRUE(run_until([&] { return pipeline->counters().written == 2; }));

  // Rotation: the old file gets one last line after the rename, then a new file appears.
  fs::rename(src, src.string() + ".1");
  append_file(src.string() + ".1", lines[3] + "\n");
  append_file(src, lines[4] + "\n");
  ASSERT_TRUE(run_until([&] { return pipeline->counters().written == 4; }));

  // Truncation (copytruncate-style): start over from offset 0.
  { std::ofstream trunc(src, std::ios::trunc); }
  io_.run_for(30ms);
  append_file(src, lines[5] + "\n");
  ASSERT_TRUE(run_until([&] { return pipeline->counters().written == 5; }));

  // The file vanishes and comes back.
  fs::remove(src);
  io_.run_for(30ms);
  append_file(src, lines[6] + "\n");
  ASSERT_TRUE(run_until([&] { return pipeline->counters().written == 6; }));

  auto records = read_records(pipeline->output_path());
  ASSERT_EQ(records.size(), 6u);
  // In order, exactly lines 1…6.
  for (std::size_t i = 0; i < records.size(); ++i)
    EXPECT_EQ(records[i]["raw_hash"], raind::sha256_hex(lines[i + 1])) << i;
  EXPECT_EQ(records[0]["rule_hint"], "RAIND-EW-ALLOW,id=pol-c1-c2-web");
  EXPECT_EQ(records[3]["rule_hint"], "RAIND-NS-OBS,id=observe");
  EXPECT_GE(pipeline->counters().file_reopens, 3u);
  EXPECT_EQ(pipeline->counters().malformed, 0u);
}

#include "raind/jsonl_writer.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "raind/sys/files.hpp"

namespace raind {
namespace {

class JsonlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/raind-jsonl-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::vector<nlohmann::json> lines(const std::filesystem::path& p) {
    std::vector<nlohmann::json> out;
    std::ifstream in(p);
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  std::filesystem::path dir_;
};

TEST_F(JsonlTest, RotatesBySizeAndKeepsNFiles) {
  auto path = dir_ / "audit.jsonl";
  auto w = JsonlWriter::open(path, RotationPolicy{1000, 3});
  ASSERT_TRUE(w) << w.error().what();
  for (int i = 0; i < 200; ++i)
    ASSERT_TRUE((*w)->write({{"seq", i}, {"pad", std::string(40, 'x')}}));
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "audit.jsonl.1"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "audit.jsonl.3"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "audit.jsonl.4")) << "only 3 rotated files kept";
  // Every file is whole JSON lines under the size bound, and sequence numbers continue across
  // the rotation boundary (newest in the live file).
  int expected_last = 199;
  for (const auto& p :
       {path, dir_ / "audit.jsonl.1", dir_ / "audit.jsonl.2", dir_ / "audit.jsonl.3"}) {
    EXPECT_LE(std::filesystem::file_size(p), 1000u);
    auto records = lines(p);
    ASSERT_FALSE(records.empty());
    EXPECT_EQ(records.back()["seq"], expected_last);
    expected_last = records.front()["seq"].get<int>() - 1;
  }
  EXPECT_EQ((*w)->written(), 200u);
  EXPECT_EQ((*w)->dropped(), 0u);
}

TEST_F(JsonlTest, AppendsToAnExistingFile) {
  auto path = dir_ / "x.jsonl";
  {
    auto w = JsonlWriter::open(path);
    ASSERT_TRUE((*w)->write({{"n", 1}}));
  }
  auto w = JsonlWriter::open(path);
  ASSERT_TRUE((*w)->write({{"n", 2}}));
  auto records = lines(path);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1]["n"], 2);
}

TEST_F(JsonlTest, RefusesSymlinksAndNonRegularFiles) {
  std::filesystem::create_symlink("/etc/passwd", dir_ / "link.jsonl");
  EXPECT_FALSE(JsonlWriter::open(dir_ / "link.jsonl"));
  EXPECT_FALSE(JsonlWriter::open(dir_));
}

TEST_F(JsonlTest, ConcurrentWritersNeverInterleaveLines) {
  auto w = JsonlWriter::open(dir_ / "c.jsonl", RotationPolicy{1ull << 30, 2});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 1000; ++i)
        (void)(*w)->write({{"t", t}, {"i", i}, {"pad", std::string(100, 'p')}});
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(lines(dir_ / "c.jsonl").size(), 4000u);  // parse() throws on a torn line
}

// A full disk is simulated with RLIMIT_FSIZE in a child: writes fail with EFBIG, records are
// counted as dropped, and writing resumes once space is available again.
TEST_F(JsonlTest, CountsDroppedRecordsWhenWritesFail) {
  auto path = dir_ / "full.jsonl";
  pid_t pid = fork();
  if (pid == 0) {
    signal(SIGXFSZ, SIG_IGN);
    auto w = JsonlWriter::open(path, RotationPolicy{1ull << 30, 2});
    if (!w) _exit(10);
    rlimit lim{200, RLIM_INFINITY};
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(11);
    int ok_count = 0;
    for (int i = 0; i < 20; ++i)
      ok_count += (*w)->write({{"i", i}, {"pad", std::string(30, 'x')}}) ? 1 : 0;
    if ((*w)->dropped() == 0 || (*w)->written() != static_cast<unsigned>(ok_count)) _exit(12);
    lim.rlim_cur = RLIM_INFINITY;
    if (setrlimit(RLIMIT_FSIZE, &lim) != 0) _exit(13);
    if (!(*w)->write({{"after", true}})) _exit(14);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  auto records = lines(path);  // every line that landed is whole JSON
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back()["after"], true);
}

}  // namespace
}  // namespace raind

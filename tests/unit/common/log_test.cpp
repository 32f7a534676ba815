#include "raind/log.hpp"

#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "raind/sys/temp_dir.hpp"

namespace raind {
namespace {

std::vector<std::string> read_lines(const std::filesystem::path& p) {
  std::vector<std::string> out;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// setup_logging is process-global: each test restores the default (stderr, info).
class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = sys::TempDir::create("raind-log");
    ASSERT_TRUE(d) << d.error().what();
    dir_ = std::move(*d);
  }
  void TearDown() override { setup_logging({}); }
  sys::TempDir dir_;
};

TEST_F(LoggingTest, JsonModeWritesOneParseableRecordPerLine) {
  auto file = dir_ / "runtime.log";
  auto log = logger("test.json");  // created before setup: must be moved to the new sink
  setup_logging({.level = "debug", .file = file.string(), .json = true});
  log->debug("quote \" backslash \\ newline \n tab \t end");
  logger("test.json.other")->error("bad byte \xff here");
  log->trace("below the level");
  log->flush();
  logger("test.json.other")->flush();
  auto lines = read_lines(file);
  ASSERT_EQ(lines.size(), 2u);
  auto first = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(first["level"], "debug");
  EXPECT_EQ(first["msg"], "test.json: quote \" backslash \\ newline \n tab \t end");
  ASSERT_TRUE(first["time"].is_string());
  EXPECT_EQ(first["time"].get<std::string>().size(), 32u) << first["time"];  // RFC 3339, µs
  EXPECT_EQ(first.size(), 3u) << "runc's shape: level, msg, time";
  auto second = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(second["level"], "error");
  EXPECT_TRUE(second["msg"].get<std::string>().starts_with("test.json.other: bad byte "));
}

TEST_F(LoggingTest, TextModeIsLogfmtWithEscapedMessage) {
  auto file = dir_ / "text.log";
  setup_logging({.level = "warn", .file = file.string(), .json = false});
  auto log = logger("test.text");
  log->info("hidden");
  log->warn("two\nlines \"quoted\"");
  log->flush();
  auto lines = read_lines(file);
  ASSERT_EQ(lines.size(), 1u) << "info is below warn; the newline is escaped";
  EXPECT_TRUE(lines[0].starts_with("time=\"")) << lines[0];
  EXPECT_NE(lines[0].find(" level=warning logger=test.text msg=\"two\\nlines \\\"quoted\\\"\""),
            std::string::npos)
      << lines[0];
}

TEST_F(LoggingTest, UnknownLevelFallsBackToInfo) {
  auto file = dir_ / "level.log";
  setup_logging({.level = "verbose-typo", .file = file.string(), .json = true});
  auto log = logger("test.level");
  log->info("kept");
  log->debug("dropped");
  log->flush();
  EXPECT_EQ(read_lines(file).size(), 1u);
}

TEST_F(LoggingTest, NamedLoggersFromManyThreadsShareOneSink) {
  auto file = dir_ / "threads.log";
  setup_logging({.level = "info", .file = file.string(), .json = true});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([t] {
      auto log = logger("test.thread" + std::to_string(t % 2));  // two threads per name
      for (int i = 0; i < 200; ++i) log->info("record {}", i);
    });
  for (auto& th : threads) th.join();
  logger("test.thread0")->flush();
  auto lines = read_lines(file);
  ASSERT_EQ(lines.size(), 800u);
  for (const auto& l : lines) EXPECT_TRUE(nlohmann::json::accept(l)) << l;
  EXPECT_EQ(logger("test.thread0").get(), logger("test.thread0").get());
}

}  // namespace
}  // namespace raind

#include <gtest/gtest.h>

#include <fstream>

#include "condenser/logs/query.hpp"
#include "raind/sys/temp_dir.hpp"

namespace raind::condenser::logs {
namespace {

namespace fs = std::filesystem;
using std::chrono::system_clock;

std::string flow(int i, const std::string& src, const std::string& verdict,
                 const std::string& ts = "2026-01-28T16:00:23.000001+09:00") {
  return nlohmann::json{
      {"generated_ts", ts},
      {"verdict", verdict},
      {"seq", i},
      {"src",
       {{"kind", "container"}, {"container_name", src}, {"container_id", src + "0123456789"}}},
      {"dst", {{"kind", "external"}, {"ip", "198.51.100.2"}}}}
      .dump();
}

void append(const fs::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::app);
  out << text;
}

TEST(LogQuery, ParsesTimestampsWithAndWithoutZones) {
  auto jst = parse_timestamp("2026-01-28T16:00:23.594406+09:00");
  auto utc = parse_timestamp("2026-01-28T07:00:23.594406Z");
  auto compact = parse_timestamp("2026-01-28T16:00:23.594406+0900");
  auto bare = parse_timestamp("2026-01-28T07:00:23.594406");
  ASSERT_TRUE(jst && utc && compact && bare);
  EXPECT_EQ(*jst, *utc);
  EXPECT_EQ(*compact, *utc);
  EXPECT_EQ(*bare, *utc);
  EXPECT_EQ(system_clock::to_time_t(*utc), 1769583623);
  for (const char* bad : {"", "2026-01-28", "2026-13-28T07:00:23Z", "2026-01-28T07:00:23+9",
                          "2026-01-28T07:00:23.Z", "garbage-garbage-garbage"})
    EXPECT_FALSE(parse_timestamp(bad)) << bad;
}

TEST(LogQuery, FiltersByContainerVerdictAndTime) {
  auto now = *parse_timestamp("2026-01-28T16:10:00+09:00");
  auto f = make_filter("web", "deny", "5m", now);
  ASSERT_TRUE(f);
  auto record = [](const std::string& s) { return nlohmann::json::parse(s); };
  EXPECT_TRUE(
      matches(LogKind::netflow, record(flow(1, "web", "deny", "2026-01-28T16:06:00+09:00")), *f));
  EXPECT_FALSE(
      matches(LogKind::netflow, record(flow(1, "web", "deny", "2026-01-28T16:04:00+09:00")), *f));
  EXPECT_FALSE(
      matches(LogKind::netflow, record(flow(1, "web", "allow", "2026-01-28T16:06:00+09:00")), *f));
  EXPECT_FALSE(
      matches(LogKind::netflow, record(flow(1, "db", "deny", "2026-01-28T16:06:00+09:00")), *f));
  // An id prefix names the container too.
  auto by_id = make_filter("web0123", "", "", now);
  EXPECT_TRUE(matches(LogKind::netflow, record(flow(1, "web", "deny")), *by_id));
  // Audit: the verdict is the result status, the container the target.
  auto audit =
      nlohmann::json{{"result", {{"status", "deny"}}}, {"target", {{"container_name", "web"}}}};
  EXPECT_TRUE(matches(LogKind::audit, audit, *make_filter("web", "deny", "", now)));
  EXPECT_FALSE(matches(LogKind::audit, audit, *make_filter("web", "allow", "", now)));
  EXPECT_FALSE(make_filter("", "maybe", "", now));
  EXPECT_FALSE(make_filter("", "", "10 parsecs", now));
  EXPECT_FALSE(make_filter("", "", "m", now));
  EXPECT_FALSE(line_matches(LogKind::netflow, "not json", *make_filter("web", "", "", now)));
}

TEST(LogQuery, TailReadsBackwardsAcrossBlocksAndSkipsAPartialLastLine) {
  auto dir = *sys::TempDir::create("logq");
  auto file = dir.path() / "raind_netflow.jsonl";
  std::string text;
  for (int i = 0; i < 5000; ++i)
    text += flow(i, i % 2 ? "web" : "db", i % 3 ? "allow" : "deny") + "\n";
  append(file, text + "{\"half\":");  // a writer mid-line
  auto t = tail(file, 10, LogKind::netflow, {});
  ASSERT_TRUE(t);
  ASSERT_EQ(t->lines.size(), 10u);
  EXPECT_EQ(nlohmann::json::parse(t->lines.front())["seq"], 4990);
  EXPECT_EQ(nlohmann::json::parse(t->lines.back())["seq"], 4999);
  EXPECT_EQ(t->end_offset, text.size());
  // Filtered: only web's denials, the last 100 of them, oldest first.
  LogFilter f;
  f.container = "web";
  f.verdict = "deny";
  t = tail(file, 100, LogKind::netflow, f);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->lines.size(), 100u);
  int previous = -1;
  for (const auto& l : t->lines) {
    auto j = nlohmann::json::parse(l);
    int seq = j["seq"];
    EXPECT_EQ(seq % 2, 1);
    EXPECT_EQ(seq % 3, 0);
    EXPECT_GT(seq, previous);
    previous = seq;
  }
  // More than there is: everything, down to the first line.
  t = tail(file, 100000, LogKind::netflow, {});
  ASSERT_TRUE(t);
  EXPECT_EQ(t->lines.size(), 5000u);
  EXPECT_EQ(nlohmann::json::parse(t->lines.front())["seq"], 0);
  // A missing file is empty.
  t = tail(dir.path() / "none", 10, LogKind::netflow, {});
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->lines.empty());
}

TEST(LogQuery, FollowContinuesThroughRotationAndTruncation) {
  auto dir = *sys::TempDir::create("logq");
  auto file = dir.path() / "raind_dns.jsonl";
  append(file, flow(1, "a", "allow") + "\n");
  auto t = tail(file, 10, LogKind::dns, {});
  ASSERT_TRUE(t);
  std::uint64_t offset = t->end_offset, inode = t->inode;
  append(file, flow(2, "a", "allow") + "\n" + flow(3, "a", "allow"));  // 3 is incomplete
  auto fresh = read_new(file, offset, inode);
  ASSERT_TRUE(fresh);
  ASSERT_EQ(fresh->size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(fresh->front())["seq"], 2);
  append(file, "\n");
  fresh = read_new(file, offset, inode);
  ASSERT_EQ(fresh->size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(fresh->front())["seq"], 3);
  // Rotation: the old file moves away, a new one starts.
  fs::rename(file, dir.path() / "raind_dns.jsonl.1");
  append(file, flow(4, "a", "allow") + "\n");
  fresh = read_new(file, offset, inode);
  ASSERT_EQ(fresh->size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(fresh->front())["seq"], 4);
  // Truncation in place (noticed because the file is now shorter than what was read).
  fs::resize_file(file, 0);
  append(file, "{\"seq\":5}\n");
  fresh = read_new(file, offset, inode);
  ASSERT_EQ(fresh->size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(fresh->front())["seq"], 5);
}

}  // namespace
}  // namespace raind::condenser::logs

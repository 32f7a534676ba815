// `raind container ls` columns and `--memory` sizes.
#include <gtest/gtest.h>

#include "raind-cli/output/containers_format.hpp"

using namespace raind::cli;

namespace {
constexpr std::time_t kNow = 1795371600;  // 2026-11-22T18:20:00Z
}

TEST(ContainersFormat, ParsesRfc3339) {
  EXPECT_EQ(parse_rfc3339("2026-11-22T18:20:00Z"), kNow);
  EXPECT_EQ(parse_rfc3339("2026-11-22T18:20:00.123456789Z"), kNow);
  EXPECT_FALSE(parse_rfc3339("yesterday"));
  EXPECT_FALSE(parse_rfc3339(""));
}

TEST(ContainersFormat, RelativeTimes) {
  EXPECT_EQ(relative_time(kNow - 5, kNow), "less than a minute ago");
  EXPECT_EQ(relative_time(kNow - 60, kNow), "1 minute ago");
  EXPECT_EQ(relative_time(kNow - 150, kNow), "2 minutes ago");
  EXPECT_EQ(relative_time(kNow - 7200, kNow), "2 hours ago");
  EXPECT_EQ(relative_time(kNow - 3 * 86400, kNow), "3 days ago");
  EXPECT_EQ(relative_time(kNow - 40 * 86400, kNow), "2026-10-13");
  EXPECT_EQ(relative_time(kNow + 10, kNow), "less than a minute ago");
  EXPECT_EQ(duration_text(0), "less than a second");
  EXPECT_EQ(duration_text(1), "1 second");
  EXPECT_EQ(duration_text(300), "5 minutes");
}

TEST(ContainersFormat, CommandAndImageColumns) {
  EXPECT_EQ(command_column({"sh"}), "\"sh\"");
  EXPECT_EQ(command_column({"sh", "-c", "echo hello; sleep 1000"}), "\"sh -c echo hello; sl…\"");
  EXPECT_EQ(command_column({}), "\"\"");
  EXPECT_EQ(image_column("registry-1.docker.io/library/busybox:latest"), "busybox:latest");
  EXPECT_EQ(image_column("registry-1.docker.io/team/app:1"), "team/app:1");
  EXPECT_EQ(image_column("localhost:5000/app:1"), "localhost:5000/app:1");
}

TEST(ContainersFormat, StatusColumn) {
  nlohmann::json running = {{"state", "running"}, {"started_at", "2026-11-22T18:15:00Z"}};
  EXPECT_EQ(status_column(running, kNow), "Up 5 minutes");
  nlohmann::json stopped = {{"state", "stopped"},
                            {"exit_code", 137},
                            {"oom_killed", true},
                            {"finished_at", "2026-11-22T18:17:00Z"}};
  EXPECT_EQ(status_column(stopped, kNow), "Exited (137) 3 minutes ago (OOM)");
  EXPECT_EQ(status_column({{"state", "created"}}, kNow), "Created");
  EXPECT_EQ(status_column({{"state", "stopped"}, {"exit_code", nullptr}}, kNow), "Exited (?)");
}

TEST(ContainersFormat, Row) {
  nlohmann::json c = {{"id", "01m82akzkhh3"},
                      {"name", "web"},
                      {"image", "registry-1.docker.io/library/busybox:latest"},
                      {"command", {"httpd", "-f"}},
                      {"created_at", "2026-11-22T18:10:00Z"},
                      {"state", "created"},
                      {"ports", {"0.0.0.0:8080->80/tcp", "0.0.0.0:53->53/udp"}}};
  EXPECT_EQ(
      container_row(c, kNow),
      (std::vector<std::string>{"01m82akzkhh3", "busybox:latest", "\"httpd -f\"", "10 minutes ago",
                                "Created", "0.0.0.0:8080->80/tcp, 0.0.0.0:53->53/udp", "web"}));
}

TEST(ContainersFormat, MemorySizes) {
  EXPECT_EQ(parse_memory_size("1024"), 1024);
  EXPECT_EQ(parse_memory_size("512k"), 512 * 1024);
  EXPECT_EQ(parse_memory_size("32m"), 32 * 1024 * 1024);
  EXPECT_EQ(parse_memory_size("32M"), 32 * 1024 * 1024);
  EXPECT_EQ(parse_memory_size("1g"), std::int64_t{1} << 30);
  EXPECT_EQ(parse_memory_size("100b"), 100);
  for (const char* bad : {"", "m", "-1m", "1.5g", "12x", "0", "32mb", "99999999999g"}) {
    auto r = parse_memory_size(bad);
    EXPECT_FALSE(r) << bad;
  }
}

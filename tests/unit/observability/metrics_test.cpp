#include <gtest/gtest.h>

#include "condenser/metrics/metrics.hpp"
#include "condenser/metrics/service.hpp"

namespace raind::condenser::metrics {
namespace {

Sample sample_at(std::chrono::milliseconds when, std::uint64_t usage_usec) {
  Sample s;
  s.taken = std::chrono::steady_clock::time_point(when);
  s.stats.cpu.usage_total_ns = usage_usec * 1000;
  return s;
}

TEST(Metrics, CpuLimitsFromBothHierarchies) {
  auto v2 = parse_cpu_max("50000 100000\n");
  EXPECT_TRUE(v2.limited);
  EXPECT_EQ(v2.quota_usec, 50000u);
  EXPECT_EQ(v2.period_usec, 100000u);
  EXPECT_FALSE(parse_cpu_max("max 100000\n").limited);
  auto v1 = parse_cfs("20000\n", "100000\n");
  EXPECT_TRUE(v1.limited);
  EXPECT_EQ(v1.quota_usec, 20000u);
  EXPECT_FALSE(parse_cfs("-1\n", "100000\n").limited);
  EXPECT_FALSE(parse_cfs("garbage", "100000").limited);
}

// UPSTREAM §11: Δusage / Δwall / max_cores × 100, max_cores = quota/period when limited.
TEST(Metrics, CpuPercentIsRelativeToTheAllowance) {
  auto before = sample_at(std::chrono::milliseconds(1000), 0);
  auto after = sample_at(std::chrono::milliseconds(2000), 500000);  // 0.5 s of CPU in 1 s
  EXPECT_DOUBLE_EQ(cpu_percent(after, &before, 2), 25.0);           // of 2 host CPUs
  after.cpu = {true, 50000, 100000};                                // half a CPU allowed
  EXPECT_DOUBLE_EQ(cpu_percent(after, &before, 2), 100.0);
  EXPECT_DOUBLE_EQ(cpu_percent(after, nullptr, 2), 0.0);  // first sample
  auto reset = sample_at(std::chrono::milliseconds(3000), 10);
  EXPECT_DOUBLE_EQ(cpu_percent(reset, &after, 2), 0.0);  // the counter went backwards
}

TEST(Metrics, RecordCarriesTheSeedFields) {
  auto before = sample_at(std::chrono::milliseconds(0), 1000);
  auto now = sample_at(std::chrono::milliseconds(10000), 2001000);
  now.cgroup_path = "/sys/fs/cgroup/memory/raind/abc";
  now.cpu = {true, 20000, 100000};
  now.stats.cpu.usage_user_ns = 1500000000;
  now.stats.cpu.usage_kernel_ns = 500000000;
  now.stats.cpu.periods = 100;
  now.stats.cpu.throttled_periods = 90;
  now.stats.cpu.throttled_time_ns = 7000000;
  now.stats.memory.usage = 64ull << 20;
  now.memory_limit = 128ull << 20;
  now.stats.memory.oom_kill = 1;
  now.memory_oom = 3;
  now.stats.blkio.io_service_bytes = {
      {8, 0, "Read", 4096}, {8, 0, "Write", 8192}, {8, 16, "Read", 100}, {8, 0, "Total", 99999}};
  now.stats.blkio.io_serviced = {{8, 0, "Read", 2}, {8, 0, "Write", 3}};
  auto r = render_record({"abc", "web", "spiffe://raind/container/abc", 42, "running"}, now,
                         &before, 4, "2026-01-28T16:00:23.594406+09:00");
  for (const char* key : {"generated_ts",
                          "container_id",
                          "container_name",
                          "spiffe_id",
                          "pid",
                          "status",
                          "cgroup_path",
                          "cpu_usage_usec",
                          "cpu_user_usec",
                          "cpu_system_usec",
                          "cpu_nr_periods",
                          "cpu_nr_throttled",
                          "cpu_throttled_usec",
                          "cpu_quota_usec",
                          "cpu_period_usec",
                          "cpu_unlimited",
                          "cpu_percent",
                          "memory_current_bytes",
                          "memory_max_bytes",
                          "memory_limited",
                          "memory_percent",
                          "io_read_bytes",
                          "io_write_bytes",
                          "io_read_ops",
                          "io_write_ops",
                          "memory_oom",
                          "memory_oom_kill"})
    EXPECT_TRUE(r.contains(key)) << key;
  EXPECT_EQ(r["cpu_usage_usec"], 2001000u);
  EXPECT_EQ(r["cpu_user_usec"], 1500000u);
  EXPECT_DOUBLE_EQ(r["cpu_percent"].get<double>(), 100.0);  // 0.2 s/s of a 0.2-CPU quota
  EXPECT_EQ(r["cpu_unlimited"], false);
  EXPECT_EQ(r["cpu_throttled_usec"], 7000u);
  EXPECT_DOUBLE_EQ(r["memory_percent"].get<double>(), 50.0);
  EXPECT_EQ(r["io_read_bytes"], 4196u);
  EXPECT_EQ(r["io_write_bytes"], 8192u);
  EXPECT_EQ(r["io_read_ops"], 2u);
  EXPECT_EQ(r["memory_oom_kill"], 1u);
  EXPECT_EQ(r["memory_oom"], 3u);

  now.memory_limit.reset();
  now.cpu = {};
  r = render_record({"abc", "web", "", 42, "running"}, now, nullptr, 4, "t");
  EXPECT_TRUE(r["memory_max_bytes"].is_null());
  EXPECT_EQ(r["memory_limited"], false);
  EXPECT_DOUBLE_EQ(r["memory_percent"].get<double>(), 0.0);
  EXPECT_TRUE(r["cpu_quota_usec"].is_null());
  EXPECT_EQ(r["cpu_unlimited"], true);
}

TEST(Metrics, LocalTimestampHasMicrosecondsAndZone) {
  ::setenv("TZ", "Asia/Tokyo", 1);
  ::tzset();
  auto t = std::chrono::system_clock::from_time_t(1769583623) + std::chrono::microseconds(594406);
  EXPECT_EQ(local_timestamp(t), "2026-01-28T16:00:23.594406+09:00");
  ::setenv("TZ", "UTC", 1);
  ::tzset();
  EXPECT_EQ(local_timestamp(t), "2026-01-28T07:00:23.594406+00:00");
  ::unsetenv("TZ");
  ::tzset();
}

}  // namespace
}  // namespace raind::condenser::metrics

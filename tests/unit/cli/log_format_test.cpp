#include <gtest/gtest.h>

#include "raind-cli/output/log_format.hpp"

namespace raind::cli {
namespace {

TEST(LogFormat, NetflowLineInTheUpstreamLayoutWithThePolicy) {
  auto deny = nlohmann::json::parse(R"({
    "generated_ts": "2026-01-28T16:00:23.594406+09:00",
    "received_ts": "2026-01-28T16:00:24.800043+09:00",
    "policy": {"source": "predefined"}, "kind": "east-west", "verdict": "deny", "proto": "ICMP",
    "src": {"kind": "container", "ip": "10.166.0.2", "container_id": "aaa", "container_name": "web"},
    "dst": {"kind": "container", "ip": "10.166.0.3", "container_id": "bbb", "container_name": "db"},
    "icmp": {"type": 8, "code": 0, "seq": 1}})");
  EXPECT_EQ(
      format_netflow_line(deny),
      "2026-01-28 16:00:24\tDENY\tFROM: web => TO: db {ICMP type=8 code=0} policy=predefined");
  auto allow = nlohmann::json::parse(R"({
    "generated_ts": "2026-01-28T07:00:23.594406Z",
    "policy": {"source": "user", "id": "01kg1kh5dbf2xv1e0n1ramytmt"}, "verdict": "allow",
    "proto": "TCP", "src": {"kind": "container_unresolved", "ip": "10.166.0.9", "port": 40000},
    "dst": {"kind": "external", "ip": "198.51.100.2", "port": 80}})");
  EXPECT_EQ(format_netflow_line(allow),
            "2026-01-28 07:00:23\tALLOW\tFROM: 10.166.0.9 => TO: 198.51.100.2 {TCP/80} "
            "policy=01kg1kh5dbf2xv1e0n1ramytmt");
  EXPECT_EQ(format_netflow_line(nlohmann::json::object()),
            "\t\tFROM: unknown => TO: unknown {UNKNOWN} policy=-");
}

TEST(LogFormat, TablesForDnsAuditMetricsAndStats) {
  auto dns = nlohmann::json::parse(R"({"generated_ts": "2026-01-28T16:00:23.5+09:00",
    "src": {"container_name": "web"}, "dns": {"question": {"name": "svc1.raind.test.", "type": "A"},
    "response": {"rcode": "NOERROR", "answers": 1}}, "upstream": {"server": "cache"},
    "latency_ms": 0, "cache": {"hit": true}, "query_result": "ok"})");
  auto text = format_dns_table({dns});
  EXPECT_NE(text.find("svc1.raind.test."), std::string::npos) << text;
  EXPECT_NE(text.find("NOERROR"), std::string::npos);
  EXPECT_NE(text.find("hit"), std::string::npos);
  EXPECT_EQ(text.find("TIME"), 0u);

  auto audit = nlohmann::json::parse(R"({"generated_ts": "2026-01-28T16:00:23+09:00",
    "severity": "critical", "action": "policy.commit", "actor": {"spiffe_id": "spiffe://raind/cli/admin"},
    "result": {"status": "allow", "code": 200}, "target": {}, "request": {"path": "/v1/policies/commit"}})");
  text = format_audit_table({audit});
  EXPECT_NE(text.find("policy.commit"), std::string::npos) << text;
  EXPECT_NE(text.find("/v1/policies/commit"), std::string::npos);

  auto m = nlohmann::json::parse(R"({"generated_ts": "2026-01-28T16:00:23+09:00",
    "container_id": "0123456789abcdef", "container_name": "web", "cpu_percent": 99.5,
    "memory_current_bytes": 1572864, "memory_max_bytes": 16777216, "memory_limited": true,
    "memory_percent": 9.38, "io_read_bytes": 0, "io_write_bytes": 4096, "cpu_nr_throttled": 7,
    "memory_oom_kill": 0})");
  text = format_metrics_table({m});
  EXPECT_NE(text.find("99.50"), std::string::npos) << text;
  EXPECT_NE(text.find("1.5MiB"), std::string::npos);
  text = format_stats_table({m});
  EXPECT_NE(text.find("0123456789ab "), std::string::npos) << text;
  EXPECT_NE(text.find("1.5MiB / 16.0MiB"), std::string::npos) << text;
  EXPECT_NE(text.find("99.50%"), std::string::npos);
  EXPECT_EQ(human_bytes(512), "512B");
  EXPECT_EQ(human_bytes(1536), "1.5KiB");
}

}  // namespace
}  // namespace raind::cli

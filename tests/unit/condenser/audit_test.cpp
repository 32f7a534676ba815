#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "condenser/api/audit.hpp"

using namespace raind::condenser::api;

namespace {
AuditEvent sample() {
  AuditEvent e;
  e.started = std::chrono::system_clock::time_point(std::chrono::microseconds(1769616070123456));
  e.event_id = "01KG1KH5DBF2XV1E0N1RAMYTMT";
  e.correlation_id = "01KG1KH5DBF2XV1E0N1RAMYTMV";
  e.base_severity = Severity::medium;
  e.action = "container.create";
  e.peer.has_cert = true;
  e.peer.fingerprint = "9b2b";
  e.peer.uri_sans = {"spiffe://raind/cli/admin"};
  e.peer.address = "127.0.0.1";
  e.target = {{"container_name", "web"}};
  e.method = "POST";
  e.path = "/v1/containers";
  e.host = "127.0.0.1:7755";
  e.code = 200;
  e.reason = "container created";
  e.bytes = 120;
  e.latency_ms = 35.25;
  return e;
}
}  // namespace

TEST(Audit, RecordHasTheSeedSchemaExactly) {
  auto r = build_audit_record(sample(), "raind-node");
  EXPECT_EQ(r["generated_ts"], "2026-01-28T16:01:10.123456+00:00");
  EXPECT_EQ(r["event_id"], "01KG1KH5DBF2XV1E0N1RAMYTMT");
  EXPECT_EQ(r["correlation_id"], "01KG1KH5DBF2XV1E0N1RAMYTMV");
  EXPECT_EQ(r["severity"], "medium");
  EXPECT_EQ(r["actor"], (nlohmann::json{{"spiffe_id", "spiffe://raind/cli/admin"},
                                        {"certt_fingerprint", "9b2b"},
                                        {"peer_ip", "127.0.0.1"}}));
  EXPECT_EQ(r["action"], "container.create");
  EXPECT_EQ(r["target"], (nlohmann::json{{"container_name", "web"}}));
  EXPECT_EQ(r["request"]["method"], "POST");
  EXPECT_EQ(r["request"]["path"], "/v1/containers");
  EXPECT_EQ(r["request"]["host"], "127.0.0.1:7755");
  EXPECT_EQ(r["result"], (nlohmann::json{{"status", "allow"},
                                         {"code", 200},
                                         {"reason", "container created"},
                                         {"bytes", 120},
                                         {"latence_ms", 35.25}}));
  EXPECT_EQ(r["runtime"], (nlohmann::json{{"component", "condenserd"}, {"node", "raind-node"}}));
  EXPECT_FALSE(r.contains("extra"));
  std::set<std::string> keys;
  for (auto& [k, v] : r.items()) keys.insert(k);
  EXPECT_EQ(keys,
            (std::set<std::string>{"generated_ts", "event_id", "correlation_id", "severity",
                                   "actor", "action", "target", "request", "result", "runtime"}));
}

TEST(Audit, DenialsAndErrorsRaiseSeverity) {
  auto e = sample();
  e.code = 403;
  auto r = build_audit_record(e, "n");
  EXPECT_EQ(r["result"]["status"], "deny");
  EXPECT_EQ(r["severity"], "high");
  e.code = 401;
  EXPECT_EQ(build_audit_record(e, "n")["result"]["status"], "deny");
  e.code = 0;  // TLS handshake failure
  EXPECT_EQ(build_audit_record(e, "n")["result"]["status"], "deny");
  e.code = 413;
  r = build_audit_record(e, "n");
  EXPECT_EQ(r["result"]["status"], "error");
  EXPECT_EQ(r["severity"], "high");
  e.base_severity = Severity::critical;
  EXPECT_EQ(build_audit_record(e, "n")["severity"], "critical");
  EXPECT_EQ(result_status(302), "allow");
}

TEST(Audit, ClientRequestIdGoesToExtraNotCorrelation) {
  auto e = sample();
  e.client_request_id = "client-chosen";
  auto r = build_audit_record(e, "n");
  EXPECT_EQ(r["correlation_id"], "01KG1KH5DBF2XV1E0N1RAMYTMV");
  EXPECT_EQ(r["extra"]["client_request_id"], "client-chosen");
}

TEST(Audit, NoCertificateActorIsEmpty) {
  auto e = sample();
  e.peer = Peer{};
  e.peer.address = "unix";
  auto r = build_audit_record(e, "n");
  EXPECT_EQ(r["actor"]["spiffe_id"], "");
  EXPECT_EQ(r["actor"]["certt_fingerprint"], "");
  EXPECT_EQ(r["actor"]["peer_ip"], "unix");
}

TEST(Audit, LogWritesOneLinePerEvent) {
  auto dir = std::filesystem::temp_directory_path() / ("raind-audit-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  {
    auto log = AuditLog::open(dir / "a.jsonl", {}, "node1");
    ASSERT_TRUE(log) << log.error().what();
    (*log)->write(sample());
    (*log)->write(sample());
  }
  std::ifstream in(dir / "a.jsonl");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["runtime"]["node"], "node1");
    ++n;
  }
  EXPECT_EQ(n, 2);
  std::filesystem::remove_all(dir);
}

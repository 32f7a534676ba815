#include "condenser/api/audit.hpp"

#include <ctime>

#include "raind/log.hpp"

namespace raind::condenser::api {

std::string_view result_status(unsigned code) {
  if (code == 0 || code == 401 || code == 403) return "deny";
  if (code < 400) return "allow";
  return "error";
}

Severity effective_severity(Severity base, unsigned code) {
  return result_status(code) == "allow" ? base : raise(base);
}

std::string format_timestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(us / 1000000);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06}+00:00", buf, us % 1000000);
}

nlohmann::json build_audit_record(const AuditEvent& e, std::string_view node) {
  nlohmann::json actor{
      {"spiffe_id", e.peer.uri_sans.empty() ? std::string() : e.peer.uri_sans.front()},
      {"certt_fingerprint", e.peer.fingerprint},
      {"peer_ip", e.peer.address},
  };
  nlohmann::json request{{"method", e.method},
                         {"path", e.path},
                         {"host", e.host},
                         {"listener", listener_name(e.listener)}};
  nlohmann::json result{
      {"status", result_status(e.code)},
      {"code", e.code},
      {"bytes", e.bytes},
      {"latence_ms", static_cast<double>(static_cast<std::int64_t>(e.latency_ms * 1000)) / 1000.0}};
  if (!e.reason.empty()) result["reason"] = e.reason;
  nlohmann::json extra = e.extra.is_object() ? e.extra : nlohmann::json::object();
  if (!e.client_request_id.empty()) extra["client_request_id"] = e.client_request_id;
  if (e.peer.uri_sans.size() > 1) extra["uri_sans"] = e.peer.uri_sans;
  if (e.peer.uid >= 0) extra["peer_uid"] = e.peer.uid;
  if (e.peer.pid >= 0) extra["peer_pid"] = e.peer.pid;
  nlohmann::json record{
      {"generated_ts", format_timestamp(e.started)},
      {"event_id", e.event_id},
      {"correlation_id", e.correlation_id},
      {"severity", severity_name(effective_severity(e.base_severity, e.code))},
      {"actor", std::move(actor)},
      {"action", e.action},
      {"target", e.target.is_object() ? e.target : nlohmann::json::object()},
      {"request", std::move(request)},
      {"result", std::move(result)},
      {"runtime", {{"component", "condenserd"}, {"node", node}}},
  };
  if (!extra.empty()) record["extra"] = std::move(extra);
  return record;
}

Result<std::unique_ptr<AuditLog>> AuditLog::open(const std::filesystem::path& path,
                                                 RotationPolicy rotation, std::string node) {
  RAIND_TRY_ASSIGN(auto writer, JsonlWriter::open(path, rotation, 0640));
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(writer), std::move(node)));
}

void AuditLog::write(const AuditEvent& event) {
  auto status = writer_->write(build_audit_record(event, node_));
  if (!status) logger("condenser.audit")->error("audit write failed: {}", status.error().what());
}

}  // namespace raind::condenser::api

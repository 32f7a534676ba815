#pragma once
// API audit log (<log_dir>/raind_audit.jsonl) in the seed schema, field names kept exactly,
// typos included (certt_fingerprint, latence_ms), so SIEM decoders for the original still work.
// One record per request on every listener, allowed or denied, plus one per failed TLS handshake.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "condenser/api/types.hpp"
#include "raind/jsonl_writer.hpp"

namespace raind::condenser::api {

struct AuditEvent {
  std::chrono::system_clock::time_point started;
  std::string event_id;        // ULID
  std::string correlation_id;  // server generated; a client X-Request-Id goes to extra
  std::string client_request_id;
  Severity base_severity = Severity::low;
  std::string action;
  Peer peer;
  nlohmann::json target = nlohmann::json::object();
  std::string method;
  std::string path;
  std::string host;
  ListenerKind listener = ListenerKind::management;
  unsigned code = 0;  // HTTP status; 0 when no HTTP exchange happened (TLS failure)
  std::string reason;
  std::uint64_t bytes = 0;  // response body bytes
  double latency_ms = 0;
  nlohmann::json extra = nlohmann::json::object();
};

// "allow" (< 400), "deny" (401/403, TLS failure), "error" (other).
std::string_view result_status(unsigned code);
Severity effective_severity(Severity base, unsigned code);
// RFC 3339 with microseconds and a numeric offset, e.g. 2026-01-28T16:01:10.123456+00:00.
std::string format_timestamp(std::chrono::system_clock::time_point t);
nlohmann::json build_audit_record(const AuditEvent& event, std::string_view node);

class AuditLog {
 public:
  static Result<std::unique_ptr<AuditLog>> open(const std::filesystem::path& path,
                                                RotationPolicy rotation, std::string node);
  void write(const AuditEvent& event);
  const std::string& node() const { return node_; }
  // Records written, and lost to a failed write (disk full): the request itself still runs.
  std::uint64_t written() const { return writer_->written(); }
  std::uint64_t dropped() const { return writer_->dropped(); }

 private:
  AuditLog(std::unique_ptr<JsonlWriter> writer, std::string node)
      : writer_(std::move(writer)), node_(std::move(node)) {}
  std::unique_ptr<JsonlWriter> writer_;
  std::string node_;
};

}  // namespace raind::condenser::api

#pragma once
// One raind_dns.jsonl record per client query (seed schema): who asked (the container behind the
// source address), what, what came back, from where, how fast, cache or not. Pure.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "condenser/dnsproxy/message.hpp"
#include "condenser/identity/identity.hpp"

namespace raind::condenser::dnsproxy {

struct QueryOutcome {
  std::string client_ip;
  std::uint16_t client_port = 0;
  std::string transport;                     // udp | tcp: client to proxy
  std::optional<Question> question = {};     // none: the query did not parse
  std::optional<AnswerSummary> answer = {};  // none: no answer (failure)
  std::string upstream_server = {};          // "ip:port", "cache" or "local"
  std::string upstream_transport = {};       // udp, tcp, udp,tc, udp,retry, cache, local
  std::optional<double> latency_ms = {};     // upstream exchanges only
  bool cache_hit = false;
  bool ok = true;
  std::string note = {};
};

// Appends the record as one JSON line (no newline), written directly: this runs for every query.
void append_query_record(std::string& out, const QueryOutcome& outcome,
                         const identity::Snapshot& snapshot,
                         std::chrono::system_clock::time_point generated);
// The same record as a document (tests, tools).
nlohmann::json query_record(const QueryOutcome& outcome, const identity::Snapshot& snapshot,
                            std::chrono::system_clock::time_point generated);

}  // namespace raind::condenser::dnsproxy

#include "condenser/dnsproxy/query_log.hpp"

#include <fmt/format.h>

#include <iterator>

#include "condenser/flowlog/enrich.hpp"
#include "condenser/flowlog/timestamp.hpp"

namespace raind::condenser::dnsproxy {
namespace {

void key(std::string& out, std::string_view name, bool first = false) {
  if (!first) out += ',';
  out += '"';
  out.append(name);
  out += "\":";
}

void string_field(std::string& out, std::string_view name, std::string_view value,
                  bool first = false) {
  key(out, name, first);
  flowlog::append_json_string(out, value);
}

template <class Number>
void number_field(std::string& out, std::string_view name, Number value) {
  key(out, name);
  fmt::format_to(std::back_inserter(out), "{}", value);
}

void bool_field(std::string& out, std::string_view name, bool value) {
  key(out, name);
  out += value ? "true" : "false";
}

}  // namespace

void append_query_record(std::string& out, const QueryOutcome& o,
                         const identity::Snapshot& snapshot,
                         std::chrono::system_clock::time_point generated) {
  static const flowlog::Zone kZone = flowlog::Zone::local();
  const auto usec =
      std::chrono::duration_cast<std::chrono::microseconds>(generated.time_since_epoch()).count();
  out += '{';
  key(out, "generated_ts", true);
  out += '"';
  flowlog::append_rfc3339(out, usec / 1000000, static_cast<std::uint32_t>(usec % 1000000), 6,
                          kZone);
  out += '"';
  string_field(out, "event_type", "log.traffic");
  key(out, "network");
  out += '{';
  string_field(out, "transport", o.transport, true);
  out += '}';
  key(out, "src");
  out += '{';
  string_field(out, "ip", o.client_ip, true);
  number_field(out, "port", o.client_port);
  const auto* c = snapshot.by_ip(o.client_ip);
  string_field(out, "container_id", c ? std::string_view(c->id) : "unresolved");
  string_field(out, "container_name", c ? std::string_view(c->name) : "unresolved");
  string_field(out, "spiffe_id", c ? std::string_view(c->spiffe_id) : "unresolved");
  string_field(out, "veth", c ? std::string_view(c->veth) : "unresolved");
  out += '}';
  key(out, "dns");
  out += '{';
  bool first = true;
  if (o.question) {
    key(out, "id", true);
    fmt::format_to(std::back_inserter(out), "{}", o.question->id);
    bool_field(out, "rd", o.question->rd);
    key(out, "question");
    out += '{';
    string_field(out, "name", o.question->name, true);
    string_field(out, "type", o.question->type);
    string_field(out, "class", o.question->klass);
    out += '}';
    first = false;
  }
  if (o.answer) {
    key(out, "response", first);
    out += '{';
    string_field(out, "rcode", o.answer->rcode, true);
    number_field(out, "answers", o.answer->answers);
    number_field(out, "authority", o.answer->authority);
    number_field(out, "additional", o.answer->additional);
    bool_field(out, "truncated", o.answer->truncated);
    out += '}';
  }
  out += '}';
  if (!o.upstream_server.empty()) {
    key(out, "upstream");
    out += '{';
    string_field(out, "server", o.upstream_server, true);
    string_field(out, "transport", o.upstream_transport);
    out += '}';
  }
  if (o.latency_ms) {
    key(out, "latency_ms");
    fmt::format_to(std::back_inserter(out), "{:.3f}", *o.latency_ms);
  }
  key(out, "cache");
  out += "{\"hit\":";
  out += o.cache_hit ? "true}" : "false}";
  string_field(out, "query_result", o.ok ? "ok" : "fail");
  if (!o.note.empty()) string_field(out, "note", o.note);
  out += '}';
}

nlohmann::json query_record(const QueryOutcome& o, const identity::Snapshot& snapshot,
                            std::chrono::system_clock::time_point generated) {
  std::string line;
  append_query_record(line, o, snapshot, generated);
  return nlohmann::json::parse(line);
}

}  // namespace raind::condenser::dnsproxy

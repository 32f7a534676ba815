#include "condenser/dnsproxy/query_log.hpp"

namespace raind::condenser::dnsproxy {

nlohmann::json query_record(const QueryOutcome& o, const identity::Snapshot& snapshot,
                            const std::string& generated_ts) {
  nlohmann::json src{{"ip", o.client_ip}, {"port", o.client_port}};
  if (const auto* c = snapshot.by_ip(o.client_ip)) {
    src["container_id"] = c->id;
    src["container_name"] = c->name;
    src["spiffe_id"] = c->spiffe_id;
    src["veth"] = c->veth;
  } else {
    for (const char* key : {"container_id", "container_name", "spiffe_id", "veth"})
      src[key] = "unresolved";
  }
  nlohmann::json dns = nlohmann::json::object();
  if (o.question) {
    dns["id"] = o.question->id;
    dns["rd"] = o.question->rd;
    dns["question"] = {
        {"name", o.question->name}, {"type", o.question->type}, {"class", o.question->klass}};
  }
  if (o.answer)
    dns["response"] = {{"rcode", o.answer->rcode},
                       {"answers", o.answer->answers},
                       {"authority", o.answer->authority},
                       {"additional", o.answer->additional},
                       {"truncated", o.answer->truncated}};
  nlohmann::json r{{"generated_ts", generated_ts},
                   {"event_type", "log.traffic"},
                   {"network", {{"transport", o.transport}}},
                   {"src", std::move(src)},
                   {"dns", std::move(dns)}};
  if (!o.upstream_server.empty())
    r["upstream"] = {{"server", o.upstream_server}, {"transport", o.upstream_transport}};
  if (o.latency_ms) r["latency_ms"] = *o.latency_ms;
  r["cache"] = {{"hit", o.cache_hit}};
  r["query_result"] = o.ok ? "ok" : "fail";
  if (!o.note.empty()) r["note"] = o.note;
  return r;
}

}  // namespace raind::condenser::dnsproxy

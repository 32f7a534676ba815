#include "raind-cli/output/log_format.hpp"

#include <fmt/format.h>

#include "raind-cli/output/table.hpp"

namespace raind::cli {
namespace {

std::string str(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return {};
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}

const nlohmann::json& child(const nlohmann::json& j, const char* key) {
  static const nlohmann::json kNull;
  if (!j.is_object()) return kNull;
  auto it = j.find(key);
  return it == j.end() ? kNull : *it;
}

double num(const nlohmann::json& j, const char* key) {
  const auto& v = child(j, key);
  return v.is_number() ? v.get<double>() : 0.0;
}

}  // namespace

std::string short_timestamp(std::string_view ts) {
  std::string out(ts);
  if (out.size() > 10 && out[10] == 'T') out[10] = ' ';
  // Drop the fraction and the zone.
  auto cut = out.find_first_of(".Z+", 19);
  if (out.size() > 19 && cut != std::string::npos) out.resize(cut);
  if (out.size() > 19 && out[19] == '-') out.resize(19);
  return out;
}

std::string endpoint_label(const nlohmann::json& e) {
  std::string name = str(e, "container_name");
  if (!name.empty() && name != "container_unresolved" && name != "unresolved") return name;
  std::string id = str(e, "container_id");
  if (!id.empty() && id != "unresolved") return id;
  std::string ip = str(e, "ip");
  if (!ip.empty()) return ip;
  return "unknown";
}

std::string format_netflow_line(const nlohmann::json& r) {
  std::string ts = str(r, "received_ts");
  if (ts.empty()) ts = str(r, "generated_ts");
  std::string verdict = str(r, "verdict");
  for (auto& c : verdict) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const auto& src = child(r, "src");
  const auto& dst = child(r, "dst");
  std::string proto = str(r, "proto");
  std::string detail;
  if (proto == "TCP" || proto == "UDP") {
    std::string port = str(dst, "port");
    if (port.empty()) port = str(src, "port");
    detail = fmt::format("{}/{}", proto, port);
  } else if (proto == "ICMP" || proto == "ICMPV6") {
    const auto& icmp = child(r, "icmp");
    detail = fmt::format("{} type={} code={}", proto, str(icmp, "type"), str(icmp, "code"));
  } else {
    detail = proto.empty() ? "UNKNOWN" : proto;
  }
  const auto& policy = child(r, "policy");
  std::string decided = str(policy, "id");
  if (decided.empty()) decided = str(policy, "source");
  return fmt::format("{}\t{}\tFROM: {} => TO: {} {{{}}} policy={}", short_timestamp(ts), verdict,
                     endpoint_label(src), endpoint_label(dst), detail,
                     decided.empty() ? "-" : decided);
}

std::string format_dns_table(const std::vector<nlohmann::json>& records) {
  Table t(
      {"TIME", "CONTAINER", "QUERY", "TYPE", "RESULT", "ANSWERS", "UPSTREAM", "LATENCY", "CACHE"});
  for (const auto& r : records) {
    if (!r.is_object()) continue;
    const auto& dns = child(r, "dns");
    const auto& q = child(dns, "question");
    const auto& resp = child(dns, "response");
    std::string result = str(resp, "rcode");
    if (str(r, "query_result") == "fail") result = "FAIL " + result;
    std::string latency =
        child(r, "latency_ms").is_number() ? fmt::format("{:.2f}ms", num(r, "latency_ms")) : "-";
    t.add({short_timestamp(str(r, "generated_ts")), endpoint_label(child(r, "src")), str(q, "name"),
           str(q, "type"), result.empty() ? "-" : result, str(resp, "answers"),
           str(child(r, "upstream"), "server"), latency,
           child(child(r, "cache"), "hit") == true ? "hit" : "miss"});
  }
  return t.render();
}

std::string format_audit_table(const std::vector<nlohmann::json>& records) {
  Table t({"TIME", "SEVERITY", "ACTION", "ACTOR", "RESULT", "CODE", "TARGET"});
  for (const auto& r : records) {
    if (!r.is_object()) continue;
    const auto& target = child(r, "target");
    std::string what = str(target, "container_name");
    if (what.empty()) what = str(target, "policy_id");
    if (what.empty()) what = str(target, "image_ref");
    if (what.empty()) what = str(child(r, "request"), "path");
    t.add({short_timestamp(str(r, "generated_ts")), str(r, "severity"), str(r, "action"),
           str(child(r, "actor"), "spiffe_id"), str(child(r, "result"), "status"),
           str(child(r, "result"), "code"), what});
  }
  return t.render();
}

std::string human_bytes(double bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024.0 && unit < 4) {
    bytes /= 1024.0;
    ++unit;
  }
  return unit == 0 ? fmt::format("{:.0f}B", bytes) : fmt::format("{:.1f}{}", bytes, kUnits[unit]);
}

std::string format_metrics_table(const std::vector<nlohmann::json>& records) {
  Table t({"TIME", "CONTAINER", "CPU %", "MEM", "MEM %", "IO READ", "IO WRITE", "OOM KILLS"});
  for (const auto& r : records) {
    if (!r.is_object()) continue;
    t.add({short_timestamp(str(r, "generated_ts")), endpoint_label(r),
           fmt::format("{:.2f}", num(r, "cpu_percent")),
           human_bytes(num(r, "memory_current_bytes")),
           r.value("memory_limited", false) ? fmt::format("{:.2f}", num(r, "memory_percent")) : "-",
           human_bytes(num(r, "io_read_bytes")), human_bytes(num(r, "io_write_bytes")),
           str(r, "memory_oom_kill")});
  }
  return t.render();
}

std::string format_stats_table(const std::vector<nlohmann::json>& records) {
  Table t({"CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "BLOCK I/O", "THROTTLED",
           "OOM KILLS"});
  for (const auto& r : records) {
    if (!r.is_object()) continue;
    std::string limit =
        r.value("memory_limited", false) ? human_bytes(num(r, "memory_max_bytes")) : "unlimited";
    t.add(
        {str(r, "container_id").substr(0, 12), str(r, "container_name"),
         fmt::format("{:.2f}%", num(r, "cpu_percent")),
         human_bytes(num(r, "memory_current_bytes")) + " / " + limit,
         r.value("memory_limited", false) ? fmt::format("{:.2f}%", num(r, "memory_percent")) : "-",
         human_bytes(num(r, "io_read_bytes")) + " / " + human_bytes(num(r, "io_write_bytes")),
         str(r, "cpu_nr_throttled"), str(r, "memory_oom_kill")});
  }
  return t.render();
}

}  // namespace raind::cli

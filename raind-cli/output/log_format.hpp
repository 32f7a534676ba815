#pragma once
// Human renderings of condenserd's JSON-lines logs for `raind logs` and `raind container stats`.
// netflow keeps the upstream one-line layout:
//   <ts>\t<VERDICT>\tFROM: <src> => TO: <dst> {<detail>}
// with the policy that decided appended (` policy=<id>`), since that is the point of the line.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace raind::cli {

// "2026-01-28T16:00:23.594406+09:00" → "2026-01-28 16:00:23".
std::string short_timestamp(std::string_view ts);
// container_name, else container_id, else ip, else "unknown" (upstream's endpoint label).
std::string endpoint_label(const nlohmann::json& endpoint);

std::string format_netflow_line(const nlohmann::json& record);
// Tables for the others; records that are not objects are skipped.
std::string format_dns_table(const std::vector<nlohmann::json>& records);
std::string format_audit_table(const std::vector<nlohmann::json>& records);
std::string format_metrics_table(const std::vector<nlohmann::json>& records);
// `raind container stats`: one row per container.
std::string format_stats_table(const std::vector<nlohmann::json>& records);
// 1536 → "1.5KiB"
std::string human_bytes(double bytes);

}  // namespace raind::cli

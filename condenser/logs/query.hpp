#pragma once
// Reading condenserd's JSON-lines logs back for `raind logs`: the last N records that match a
// filter (read backwards from the end, so a 50 MiB file costs only what is returned), and the
// records appended after a given position (follow), surviving rotation and truncation.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "raind/error.hpp"

namespace raind::condenser::logs {

enum class LogKind { netflow, dns, audit, metrics };
std::optional<LogKind> parse_log_kind(std::string_view text);
std::string_view log_kind_name(LogKind kind);
// raind_<kind>.jsonl
std::string log_file_name(LogKind kind);

struct LogFilter {
  std::string container;  // id, id prefix or name of either end
  std::string verdict;    // allow | deny (netflow verdict, audit result status)
  std::optional<std::chrono::system_clock::time_point> since;
};

// "allow"/"deny" only; `since` is an RFC 3339 time or a duration before `now` ("90s", "10m",
// "2h", "1d").
Result<LogFilter> make_filter(std::string container, std::string verdict, std::string since,
                              std::chrono::system_clock::time_point now);
// RFC 3339 with optional fraction and zone (Z, +09:00, +0900; none: UTC).
std::optional<std::chrono::system_clock::time_point> parse_timestamp(std::string_view text);

bool matches(LogKind kind, const nlohmann::json& record, const LogFilter& filter);
// Same, from the raw line; lines that are not JSON objects never match.
bool line_matches(LogKind kind, std::string_view line, const LogFilter& filter);

struct TailResult {
  std::vector<std::string> lines;  // oldest first
  std::uint64_t end_offset = 0;    // where a follower continues
  std::uint64_t inode = 0;
};

// The last `count` matching lines of `file` (a missing file is empty).
Result<TailResult> tail(const std::filesystem::path& file, std::size_t count, LogKind kind,
                        const LogFilter& filter);

// New complete lines since `offset`; a rotated (other inode) or truncated (shorter than `offset`)
// file is read from its start. Updates offset/inode.
Result<std::vector<std::string>> read_new(const std::filesystem::path& file, std::uint64_t& offset,
                                          std::uint64_t& inode);

}  // namespace raind::condenser::logs

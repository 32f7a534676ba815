#pragma once
// Pure formatting and parsing for `raind container …`: the columns of `container ls`, memory
// sizes (`--memory 32m`). "now" is a parameter so the tests are exact.
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "raind/error.hpp"
#include "raind/units.hpp"

namespace raind::cli {

// "2026-11-22T19:09:39.313428Z" → seconds since the epoch; nullopt when malformed.
std::optional<std::time_t> parse_rfc3339(std::string_view text);
// "less than a minute ago", "1 minute ago", "N minutes ago", "N hours ago", "N days ago" (under
// 30 days), else the date "YYYY-MM-DD".
std::string relative_time(std::time_t then, std::time_t now);
// Duration for "Up 5 minutes": "less than a second", "N seconds", "N minutes", "N hours", "N days".
std::string duration_text(std::time_t seconds);
// The joined argv in double quotes, cut to 20 characters plus "…".
std::string command_column(const std::vector<std::string>& argv);
// "registry-1.docker.io/library/busybox:latest" → "busybox:latest".
std::string image_column(std::string_view reference);
// "Up 5 minutes", "Exited (137) 3 minutes ago", "Created", "Creating", "Deleting".
std::string status_column(const nlohmann::json& container, std::time_t now);
std::vector<std::string> container_row(const nlohmann::json& container, std::time_t now);

// --memory: "1024", "512k", "32m", "1g" → bytes (raind/units.hpp).
using raind::parse_memory_size;

}  // namespace raind::cli

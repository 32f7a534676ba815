#include "raind-cli/output/containers_format.hpp"

#include <time.h>

#include <charconv>
#include <cctype>

#include <fmt/format.h>

namespace raind::cli {

std::optional<std::time_t> parse_rfc3339(std::string_view text) {
  std::tm tm{};
  std::string copy(text.substr(0, 19));
  const char* end = ::strptime(copy.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return ::timegm(&tm);
}

namespace {
std::string plural(long long n, std::string_view unit) {
  return fmt::format("{} {}{}", n, unit, n == 1 ? "" : "s");
}
}  // namespace

std::string relative_time(std::time_t then, std::time_t now) {
  const long long d = now > then ? now - then : 0;
  if (d < 60) return "less than a minute ago";
  if (d < 3600) return plural(d / 60, "minute") + " ago";
  if (d < 86400) return plural(d / 3600, "hour") + " ago";
  if (d < 30 * 86400) return plural(d / 86400, "day") + " ago";
  std::tm tm{};
  ::gmtime_r(&then, &tm);
  return fmt::format("{:04}-{:02}-{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

std::string duration_text(std::time_t seconds) {
  const long long d = seconds > 0 ? seconds : 0;
  if (d < 1) return "less than a second";
  if (d < 60) return plural(d, "second");
  if (d < 3600) return plural(d / 60, "minute");
  if (d < 86400) return plural(d / 3600, "hour");
  return plural(d / 86400, "day");
}

std::string command_column(const std::vector<std::string>& argv) {
  std::string joined;
  for (const auto& a : argv) {
    if (!joined.empty()) joined += ' ';
    joined += a;
  }
  constexpr std::size_t kMax = 20;
  if (joined.size() > kMax) {
    // Cut on a UTF-8 boundary.
    std::size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(joined[cut]) & 0xC0) == 0x80) --cut;
    joined = joined.substr(0, cut) + "…";
  }
  return "\"" + joined + "\"";
}

std::string image_column(std::string_view reference) {
  for (std::string_view prefix : {"registry-1.docker.io/library/", "docker.io/library/",
                                  "registry-1.docker.io/", "docker.io/"}) {
    if (reference.substr(0, prefix.size()) == prefix) {
      reference.remove_prefix(prefix.size());
      break;
    }
  }
  return std::string(reference);
}

std::string status_column(const nlohmann::json& c, std::time_t now) {
  const std::string state = c.value("state", "");
  if (state == "running") {
    auto started = parse_rfc3339(c.value("started_at", ""));
    return "Up " + (started ? duration_text(now - *started) : std::string("(unknown)"));
  }
  if (state == "stopped") {
    std::string code = c.contains("exit_code") && c["exit_code"].is_number_integer()
                           ? std::to_string(c["exit_code"].get<int>())
                           : std::string("?");
    auto finished = parse_rfc3339(c.value("finished_at", ""));
    std::string out = "Exited (" + code + ")";
    if (finished) out += " " + relative_time(*finished, now);
    if (c.value("oom_killed", false)) out += " (OOM)";
    return out;
  }
  if (state.empty()) return "Unknown";
  std::string out = state;
  out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  return out;
}

std::vector<std::string> container_row(const nlohmann::json& c, std::time_t now) {
  std::string ports;
  for (const auto& p : c.value("ports", nlohmann::json::array())) {
    if (!ports.empty()) ports += ", ";
    ports += p.get<std::string>();
  }
  auto created = parse_rfc3339(c.value("created_at", ""));
  return {c.value("id", ""),
          image_column(c.value("image", "")),
          command_column(c.value("command", std::vector<std::string>{})),
          created ? relative_time(*created, now) : std::string("-"),
          status_column(c, now),
          ports,
          c.value("name", "")};
}

}  // namespace raind::cli

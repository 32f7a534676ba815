#include "condenser/bottle/units.hpp"

#include <cctype>
#include <charconv>
#include <optional>

namespace raind::condenser::bottle {
namespace {

std::optional<std::int64_t> positive_number(std::string_view digits) {
  std::int64_t n = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || n <= 0)
    return std::nullopt;
  return n;
}

}  // namespace

Result<std::chrono::milliseconds> parse_duration(std::string_view text) {
  std::size_t unit_start = text.size();
  while (unit_start > 0 && std::isalpha(static_cast<unsigned char>(text[unit_start - 1])))
    --unit_start;
  const std::string_view unit = text.substr(unit_start);
  std::int64_t ms_per_unit = 0;
  if (unit == "ms") {
    ms_per_unit = 1;
  } else if (unit == "s") {
    ms_per_unit = 1000;
  } else if (unit == "m") {
    ms_per_unit = 60 * 1000;
  } else if (unit == "h") {
    ms_per_unit = 60 * 60 * 1000;
  }
  auto n = positive_number(text.substr(0, unit_start));
  if (!n || ms_per_unit == 0)
    return failf(Errc::invalid_argument,
                 "duration '{}' is not a positive whole number with a unit ms, s, m or h (e.g. "
                 "500ms, 10s)",
                 text);
  constexpr std::int64_t kMaxMs = 24LL * 60 * 60 * 1000;
  if (*n > kMaxMs / ms_per_unit)
    return failf(Errc::invalid_argument, "duration '{}' is longer than 24h", text);
  return std::chrono::milliseconds(*n * ms_per_unit);
}

}  // namespace raind::condenser::bottle

#include "raind/units.hpp"

#include <cctype>
#include <charconv>

namespace raind {

Result<std::int64_t> parse_memory_size(std::string_view text) {
  std::int64_t multiplier = 1;
  std::string_view digits = text;
  if (!digits.empty() && std::isalpha(static_cast<unsigned char>(digits.back()))) {
    switch (std::tolower(static_cast<unsigned char>(digits.back()))) {
      case 'b':
        break;
      case 'k':
        multiplier = std::int64_t{1} << 10;
        break;
      case 'm':
        multiplier = std::int64_t{1} << 20;
        break;
      case 'g':
        multiplier = std::int64_t{1} << 30;
        break;
      default:
        return failf(Errc::invalid_argument,
                     "memory size '{}': the unit must be b, k, m or g (e.g. 512m)", text);
    }
    digits.remove_suffix(1);
  }
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  const bool bad =
      digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || value <= 0;
  if (bad)
    return failf(Errc::invalid_argument,
                 "memory size '{}' is not a positive whole number with an optional unit b, k, m "
                 "or g (e.g. 512m)",
                 text);
  if (value > (std::int64_t{1} << 50) / multiplier)
    return failf(Errc::invalid_argument, "memory size '{}' is too large", text);
  return value * multiplier;
}

}  // namespace raind

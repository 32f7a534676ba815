#pragma once
// The unit-suffixed values of a bottle file: memory sizes ("64m") and durations ("500ms").
#include <chrono>
#include <cstdint>
#include <string_view>

#include "raind/error.hpp"
#include "raind/units.hpp"

namespace raind::condenser::bottle {

using raind::parse_memory_size;  // "64m": raind/units.hpp

// A positive whole number with a unit ms, s, m or h: "500ms", "1s", "2m". At most 24 hours.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace raind::condenser::bottle

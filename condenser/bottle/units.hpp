#pragma once
// The unit-suffixed values of a bottle file: memory sizes ("64m") and durations ("500ms").
#include <chrono>
#include <cstdint>
#include <string_view>

#include "raind/error.hpp"

namespace raind::condenser::bottle {

// A positive whole number with an optional unit b, k, m or g (powers of 1024, either case):
// "1048576", "512k", "64m", "1g". At most 1 PiB.
Result<std::int64_t> parse_memory_size(std::string_view text);

// A positive whole number with a unit ms, s, m or h: "500ms", "1s", "2m". At most 24 hours.
Result<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace raind::condenser::bottle

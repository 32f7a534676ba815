#pragma once
// Memory sizes as operators write them ("64m", "1g", "1048576"): the CLI's --memory and a bottle
// file's `memory:` read them the same way.
#include <cstdint>
#include <string_view>

#include "raind/error.hpp"

namespace raind {

// A positive whole number with an optional unit b, k, m or g (powers of 1024, either case):
// "1048576", "512k", "64m", "1g". At most 1 PiB.
Result<std::int64_t> parse_memory_size(std::string_view text);

}  // namespace raind

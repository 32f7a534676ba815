#pragma once
// Network names are bridge names, so they must be valid Linux interface names and must not
// collide with the interfaces Raind creates for other purposes.
#include <string_view>

#include "raind/error.hpp"

namespace raind::condenser::network {

inline constexpr std::size_t kMaxInterfaceName = 15;  // IFNAMSIZ - 1
// Host ends of container veths are "rd_<id>"; a bridge with that prefix could be mistaken for one.
inline constexpr std::string_view kVethPrefix = "rd_";

// 1..15 characters of [a-zA-Z0-9_.-], not "." or "..", not starting with "rd_" or '-'.
Status validate_network_name(std::string_view name);

}  // namespace raind::condenser::network

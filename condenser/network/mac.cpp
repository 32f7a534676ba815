#include "condenser/network/mac.hpp"

#include <fmt/core.h>

namespace raind::condenser::network {

MacAddress mac_for_ipv4(Ipv4 a) {
  return {kMacPrefix[0],
          kMacPrefix[1],
          static_cast<std::uint8_t>(a >> 24),
          static_cast<std::uint8_t>(a >> 16),
          static_cast<std::uint8_t>(a >> 8),
          static_cast<std::uint8_t>(a)};
}

std::string format_mac(const MacAddress& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                     m[5]);
}

}  // namespace raind::condenser::network

#pragma once
// A container's MAC address as a pure function of its IPv4 address, so the same address always
// gets the same MAC (neighbour caches on the bridge stay valid across re-creates).
#include <array>
#include <cstdint>
#include <string>

#include "condenser/network/ipv4.hpp"

namespace raind::condenser::network {

using MacAddress = std::array<std::uint8_t, 6>;

// Locally administered (bit 1 of the first octet), unicast (bit 0 clear): 02:52:a:b:c:d.
// 02:52 is the prefix droplet derives when the annotation names no MAC, so both agree.
inline constexpr std::uint8_t kMacPrefix[2] = {0x02, 0x52};

MacAddress mac_for_ipv4(Ipv4 address);
std::string format_mac(const MacAddress& mac);  // "02:52:0a:a6:00:01"

}  // namespace raind::condenser::network

#pragma once
// The io.raind.net.config annotation: which bridge the container's veth joins and the address,
// gateway, MTU and MAC of its eth0. Parsing and validation are pure so bad annotations are
// rejected before anything is created.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "raind/error.hpp"

namespace raind::droplet::net {

inline constexpr std::string_view kNetAnnotation = "io.raind.net.config";
inline constexpr std::string_view kContainerInterface = "eth0";

struct Ipv4Cidr {
  std::uint32_t address = 0;  // host byte order
  unsigned prefix = 32;
  std::string to_string() const;       // "10.166.0.2/24"
  std::string address_string() const;  // "10.166.0.2"
  bool contains(std::uint32_t other) const;
};

using MacAddress = std::array<std::uint8_t, 6>;

struct NetConfig {
  std::string host_interface;    // optional; the original named the peer after the host NIC
  std::string bridge_interface;  // bridge the host end is attached to
  std::string veth_name;         // host end, "rd_<id>"
  Ipv4Cidr address;              // eth0 address with prefix
  std::uint32_t gateway = 0;     // host byte order
  unsigned mtu = 1500;
  MacAddress mac{};  // given, or derived from the address
};

Result<std::uint32_t> parse_ipv4(std::string_view text);
std::string ipv4_to_string(std::uint32_t address);
Result<Ipv4Cidr> parse_ipv4_cidr(std::string_view text);
Result<MacAddress> parse_mac(std::string_view text);
std::string mac_to_string(const MacAddress& mac);
// Locally administered unicast MAC that is a pure function of the address: 02:52:a.b.c.d.
MacAddress mac_from_ipv4(std::uint32_t address);
// Linux interface names: 1..15 bytes, no '/', whitespace or ':', not "." or "..".
Status validate_interface_name(std::string_view name, std::string_view what);

// Parses and validates the annotation's JSON text. Errors name the field.
Result<NetConfig> parse_net_config(std::string_view json_text);

}  // namespace raind::droplet::net

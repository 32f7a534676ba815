#pragma once
// IPv4 addresses and subnets as host-order integers: the arithmetic IPAM needs (contains, overlaps,
// gateway, broadcast) plus strict parsing/formatting of dotted quads and CIDRs.
#include <cstdint>
#include <string>
#include <string_view>

#include "raind/error.hpp"

namespace raind::condenser::network {

using Ipv4 = std::uint32_t;  // host byte order

struct Subnet {
  Ipv4 network = 0;  // always the masked base address
  unsigned prefix = 32;

  Ipv4 mask() const { return prefix == 0 ? 0 : ~Ipv4{0} << (32 - prefix); }
  Ipv4 broadcast() const { return network | ~mask(); }
  std::uint64_t size() const { return std::uint64_t{1} << (32 - prefix); }
  bool contains(Ipv4 address) const { return (address & mask()) == network; }
  bool contains(const Subnet& other) const {
    return other.prefix >= prefix && contains(other.network);
  }
  bool overlaps(const Subnet& other) const { return contains(other) || other.contains(*this); }
  std::string to_string() const;  // "10.166.0.0/24"
  friend bool operator==(const Subnet&, const Subnet&) = default;
};

// Dotted quad only: no shorthand ("10.1"), no leading zeros, no surrounding space.
Result<Ipv4> parse_ipv4(std::string_view text);
std::string format_ipv4(Ipv4 address);
// "a.b.c.d/n"; host bits must be zero ("10.166.0.1/24" is rejected as a subnet).
Result<Subnet> parse_subnet(std::string_view text);

}  // namespace raind::condenser::network

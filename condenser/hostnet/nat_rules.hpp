#pragma once
// The nat-table rules condenserd owns, rendered as one `iptables-restore --noflush` payload:
// RAIND-POSTROUTING (masquerade of container traffic leaving the runtime subnet, and of traffic
// DNAT'ed back into it so replies return the way they came) and RAIND-PUBLISH (one DNAT per
// published port). Declaring the chains in the payload flushes and refills them in one atomic
// step; the jumps from the built-in chains are listed separately because --noflush cannot
// declare built-in chains without flushing them. Pure and deterministic.
#include <cstdint>
#include <string>
#include <vector>

namespace raind::condenser::hostnet {

inline constexpr std::string_view kPublishChain = "RAIND-PUBLISH";
inline constexpr std::string_view kPostroutingChain = "RAIND-POSTROUTING";

struct PublishedPort {
  std::string container_id;
  std::string container_ip;
  std::string bridge;
  std::string host_ip = "0.0.0.0";  // 0.0.0.0: every local address
  std::uint16_t host_port = 0;
  std::uint16_t container_port = 0;
  std::string protocol = "tcp";  // tcp | udp
};

struct NatInput {
  std::string runtime_subnet = "10.166.0.0/16";
  std::vector<std::string> bridges;
  std::vector<PublishedPort> ports;
};

// `iptables-restore --noflush` input for the two chains (table nat, ends with COMMIT).
std::string render_nat_rules(const NatInput& input);

struct Jump {
  std::string chain;              // built-in chain: PREROUTING, OUTPUT, POSTROUTING
  std::vector<std::string> spec;  // rule arguments after "-A <chain>"
};
// The jumps into RAIND-PUBLISH (for packets to local addresses, from outside and from the host
// itself; loopback excluded) and RAIND-POSTROUTING.
std::vector<Jump> nat_jumps();

}  // namespace raind::condenser::hostnet

#pragma once
// The nat-table rules condenserd owns, rendered as one `iptables-restore --noflush` payload:
// RAIND-POSTROUTING (masquerade of container traffic leaving the runtime subnet, hairpin
// masquerade for published ports reached from containers or from the host itself) and
// RAIND-PUBLISH (one DNAT per published port). Declaring the two chains in the payload flushes
// and refills them in one atomic step. The jumps from the built-in chains are listed separately
// (nat_jumps): with --noflush a built-in chain cannot be declared without flushing it, so the
// effectful side checks for each jump (`iptables -C`) and inserts it only when missing.
// Everything here is pure and deterministic.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "raind/error.hpp"

namespace raind::condenser::hostnet {

inline constexpr std::string_view kPublishChain = "RAIND-PUBLISH";
inline constexpr std::string_view kPostroutingChain = "RAIND-POSTROUTING";
// DNS from every container bridge is redirected to the DNS proxy, whatever resolver the
// container asked: every query is answered and logged by condenserd.
inline constexpr std::string_view kDnsChain = "RAIND-DNS";

struct PublishedPort {
  std::string container_id;
  std::string container_ip;
  std::string bridge;
  std::string host_ip = "0.0.0.0";  // 0.0.0.0 (or empty): every local address
  std::uint16_t host_port = 0;
  std::uint16_t container_port = 0;
  std::string protocol = "tcp";  // tcp | udp
};

struct NatInput {
  std::string runtime_subnet = "10.166.0.0/16";
  std::vector<std::string> bridges;
  std::vector<PublishedPort> ports;
  std::string dns_proxy;  // IPv4 the proxy listens on (port 53); empty: no DNS redirection
};

// Rejects input that would render a malformed or injected payload: protocols other than
// tcp/udp, addresses that are not dotted-quad IPv4 (subnet: a.b.c.d/n), port 0, container ids
// outside [A-Za-z0-9_.-]. apply_nat() calls it before rendering.
Status validate_nat_input(const NatInput& input);

// `iptables-restore --noflush` input for the three chains (table nat, ends with COMMIT). Ports are
// ordered by protocol, host port, host address (then container id) whatever the input order.
std::string render_nat_rules(const NatInput& input);

struct Jump {
  std::string chain;              // built-in chain: PREROUTING, OUTPUT, POSTROUTING
  std::vector<std::string> spec;  // rule arguments after "-A <chain>"
};
// The jumps into RAIND-DNS (from bridges), RAIND-PUBLISH (packets to local addresses, from outside
// and from the host itself, loopback destinations excluded: DNAT of 127/8 would need
// route_localnet) and into RAIND-POSTROUTING.
std::vector<Jump> nat_jumps();

}  // namespace raind::condenser::hostnet

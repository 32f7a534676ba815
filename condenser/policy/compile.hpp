#pragma once
// The policy compiler: a pure function from (committed policies, NS mode, containers, bridges)
// to the complete filter-table payload for every RAIND chain, applied in one
// `iptables-restore --noflush` transaction. Declaring the chains flushes and refills them in
// the same commit of the kernel's table, so there is no moment without rules.
//
//   FORWARD → RAIND-ROOT:
//     ESTABLISHED,RELATED accept; DNAT'd connections to a bridge accept (published ports);
//     bridge → bridge → RAIND-EW; bridge → elsewhere → RAIND-NS-OBS or RAIND-NS-ENF (mode);
//     anything else into a bridge drop; RETURN.
//   RAIND-EW:     per policy NFLOG(10, RAIND-EW-ALLOW,id=…) + ACCEPT; then NFLOG + DROP.
//                 Same bridge: physdev match on the two veths; across bridges: interfaces and
//                 addresses.
//   RAIND-NS-OBS: per policy NFLOG(11, RAIND-NS-DENY,id=…) + DROP; then NFLOG + ACCEPT.
//   RAIND-NS-ENF: per policy NFLOG(12, RAIND-NS-ALLOW,id=…) + ACCEPT; then NFLOG + DROP.
//   INPUT → RAIND-INPUT: from a bridge only replies and DNS (to its gateway, or redirected to
//                 the DNS proxy) pass; the rest is
//                 logged and dropped, so the API ports are unreachable from containers.
// Every NFLOG rule matches ctstate NEW (one log line per connection) and sits directly above
// the rule that decides.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "condenser/policy/policy.hpp"

namespace raind::condenser::policy {

inline constexpr int kGroupEastWest = 10;
inline constexpr int kGroupObserve = 11;
inline constexpr int kGroupEnforce = 12;

struct ContainerEndpoint {
  std::string id;
  std::string name;
  std::string ip;      // dotted quad
  std::string bridge;  // its network's bridge
  std::string veth;    // host side, rd_<id>
};

struct BridgeInfo {
  std::string name;
  std::string gateway;  // dotted quad
};

struct CompileInput {
  std::vector<Policy> policies;  // the committed revision
  NsMode mode = NsMode::observe;
  std::vector<ContainerEndpoint> containers;
  std::vector<BridgeInfo> bridges;
  std::string dns_proxy;  // DNS redirected there (nat RAIND-DNS) is accepted on INPUT
};

struct CompileOutput {
  std::string payload;  // `*filter … COMMIT`
  std::size_t rules = 0;
  // policy id → why it is not in the payload ("container 'x' not found")
  std::vector<std::pair<std::string, std::string>> unresolved;
  // policy id → the containers its names resolved to ("<source id>><destination id>")
  std::vector<std::pair<std::string, std::string>> bindings;
};

// Rejects names and addresses that could not be rendered safely (interface names, IPs).
Status validate_compile_input(const CompileInput& input);
CompileOutput compile_policies(const CompileInput& input);

// The jumps from built-in chains, checked and inserted at position 1 by the applier.
struct FilterJump {
  std::string chain;  // FORWARD, INPUT
  std::string target;
};
std::vector<FilterJump> filter_jumps();
std::vector<std::string> managed_chains();

}  // namespace raind::condenser::policy

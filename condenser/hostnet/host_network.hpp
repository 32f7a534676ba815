#pragma once
// The host side of container networking, in the caller's network namespace: bridges (libnl),
// the forwarding sysctls, and the nat rules (iptables-restore). droplet creates each
// container's veth; everything else on the host is condenserd's, and lives here.
#include <string>
#include <string_view>
#include <vector>

#include "condenser/hostnet/nat_rules.hpp"
#include "raind/error.hpp"

namespace raind::condenser::hostnet {

// Creates the bridge if missing, gives it `gateway_cidr` ("10.166.0.254/24") if it lacks it,
// brings it up and asks it to pass bridged IPv4 through iptables. Idempotent. Refuses an
// existing interface of that name that is not a bridge.
Status ensure_bridge(std::string_view name, std::string_view gateway_cidr);
Status remove_bridge(std::string_view name);  // missing is not an error
bool link_exists(std::string_view name);
std::vector<std::string> list_links_with_prefix(std::string_view prefix);
Status remove_link(std::string_view name);  // missing is not an error

// net.ipv4.ip_forward=1 and net.bridge.bridge-nf-call-iptables=1 in this namespace (loads
// br_netfilter when the second is missing).
Status enable_forwarding();

struct IptablesBackend {
  std::string iptables = "iptables";
  std::string restore = "iptables-restore";
};
// Replaces RAIND-PUBLISH and RAIND-POSTROUTING atomically, then makes sure each jump exists once.
Status apply_nat(const NatInput& input, const IptablesBackend& backend = {});
// Removes the jumps and both chains (tests, uninstall). Missing pieces are not errors.
Status remove_nat(const IptablesBackend& backend = {});

}  // namespace raind::condenser::hostnet

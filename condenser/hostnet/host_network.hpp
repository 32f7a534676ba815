#pragma once
// The host side of container networking, in the caller's network namespace: bridges (libnl),
// the forwarding sysctls, and the nat rules (iptables-restore). droplet creates each
// container's veth and attaches it to a bridge; everything else on the host is condenserd's,
// and lives here.
#include <string>
#include <utility>
#include <string_view>
#include <vector>

#include "condenser/hostnet/nat_rules.hpp"
#include "raind/error.hpp"

namespace raind::condenser::hostnet {

// Creates the bridge if missing, gives it `gateway_cidr` ("10.166.0.254/24") if it lacks it,
// sets the MTU (0: leave as is), brings it up and turns on its nf_call_iptables (netlink
// IFLA_BR_NF_CALL_IPTABLES, so it also works where /sys belongs to another namespace).
// Idempotent. Refuses an existing interface of that name that is not a bridge.
Status ensure_bridge(std::string_view name, std::string_view gateway_cidr, unsigned mtu = 0);
Status remove_bridge(std::string_view name);  // missing is not an error
// A dummy interface carrying `address_cidr` ("10.166.254.254/32"), up; idempotent. The DNS
// proxy's address lives on one, so it exists whatever bridges come and go. Where the kernel has
// no dummy driver, a bridge without ports serves instead.
Status ensure_dummy(std::string_view name, std::string_view address_cidr);
bool link_exists(std::string_view name);
// Names of the interfaces starting with `prefix` ("rd_": orphaned container veths). Empty when
// netlink fails.
std::vector<std::string> list_links_with_prefix(std::string_view prefix);
Status remove_link(std::string_view name);  // missing is not an error
// Hairpin mode on a bridge port, so a container can reach itself through a published port.
Status set_hairpin(std::string_view bridge_port);

// net.ipv4.ip_forward=1 and net.bridge.bridge-nf-call-iptables=1 in this namespace (loads
// br_netfilter when the second is missing; an error when it is still missing).
Status enable_forwarding();

struct IptablesBackend {
  std::string restore = "iptables-restore";
  std::string save = "iptables-save";
  std::string iptables = "iptables";
};
// The two backends by name; "auto" probes: the backend that already holds rules in this network
// namespace wins (mixing both makes both hook sets active), nf_tables when neither or both do.
IptablesBackend nft_backend();
IptablesBackend legacy_backend();
Result<IptablesBackend> choose_iptables_backend(std::string_view setting);

// Validates the input, replaces RAIND-PUBLISH and RAIND-POSTROUTING atomically with
// `restore -w --noflush`, then makes sure each jump of nat_jumps() exists (checked with -C,
// inserted first with -I when missing), so applying again never duplicates them. A failing tool's
// stderr is part of the error.
Status apply_nat(const NatInput& input, const IptablesBackend& backend = {});
// Removes the jumps and both chains (tests, uninstall). Missing pieces are not errors; a chain
// that is still there afterwards is.
Status remove_nat(const IptablesBackend& backend = {});

// The filter-table rules of the policy engine: a complete `*filter … COMMIT` payload that
// declares (and so flushes and refills) every managed chain in one transaction, and the jumps
// from built-in chains into them.
struct FilterRules {
  std::string payload;
  std::vector<std::string> chains;
  std::vector<std::pair<std::string, std::string>> jumps;  // built-in chain → managed chain
};
// `restore -w --noflush` of the payload, then each jump checked (-C) and inserted at position 1
// when missing, then verification: the rules `save -t filter` reports for the managed chains
// must be exactly the payload's. On a failing restore the kernel keeps the previous rules (the
// transaction is all or nothing) and the error carries the tool's message.
Status apply_filter(const FilterRules& rules, const IptablesBackend& backend = {});
// Removes the jumps and the chains (tests, uninstall).
Status remove_filter(const FilterRules& rules, const IptablesBackend& backend = {});
// The "-A <chain> …" lines of `text` for the given chains, in order.
std::vector<std::string> chain_rules(std::string_view text, const std::vector<std::string>& chains);

}  // namespace raind::condenser::hostnet

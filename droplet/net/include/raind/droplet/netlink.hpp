#pragma once
// Container networking through libnl-3 (no `ip` command): a veth pair whose host end joins a
// bridge and whose peer becomes eth0 inside the container's network namespace.
#include <string_view>

#include "raind/droplet/net_config.hpp"
#include "raind/error.hpp"

namespace raind::droplet::net {

// Fails unless `name` exists in the caller's network namespace and is a bridge.
Status check_bridge(std::string_view name);

// Creates cfg.veth_name (host end, attached to cfg.bridge_interface and up) with its peer created
// directly inside the namespace behind netns_fd as "eth0", then inside that namespace: MAC, MTU,
// address, lo and eth0 up, default route via the gateway. On failure nothing is left behind.
Status setup_container_network(const NetConfig& cfg, int netns_fd);

// Deletes the host end of a container's veth (the peer goes with it). Missing is not an error.
Status remove_host_interface(std::string_view name);

// True when an interface with this name exists in the caller's network namespace.
bool interface_exists(std::string_view name);

}  // namespace raind::droplet::net

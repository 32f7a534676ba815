#pragma once
// IP address management: networks are /24 (by default) pools carved from the runtime subnet
// 10.166.0.0/16, each with a bridge of the same name and its gateway on the last usable address
// (.254). Pure and deterministic: the daemon persists to_json() and, after a crash, rebuilds the
// state from what actually exists (rebuild()) instead of trusting a stale file.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "condenser/network/ipv4.hpp"
#include "raind/error.hpp"

namespace raind::condenser::network {

inline constexpr std::string_view kDefaultNetworkName = "raind0";

struct IpamOptions {
  Subnet runtime_subnet{0x0aa60000, 16};  // 10.166.0.0/16
  unsigned network_prefix = 24;           // size of each network
  std::string default_network{kDefaultNetworkName};
  std::vector<Subnet> reserved{{0x0aa6fe00, 24}};  // 10.166.254.0/24: the DNS proxy
};

struct Network {
  std::string name;  // also the bridge name
  Subnet subnet;
  Ipv4 gateway = 0;                         // broadcast - 1, e.g. 10.166.0.254
  std::map<Ipv4, std::string> allocations;  // address -> container id
  std::string gateway_cidr() const;         // "10.166.0.254/24"
  std::optional<Ipv4> address_of(std::string_view container_id) const;
};

struct Allocation {
  std::string network;
  std::string container_id;
  Ipv4 address = 0;
};

class Ipam {
 public:
  // A fresh state holding only the default network.
  static Result<Ipam> create(IpamOptions options = {});
  // State as persisted by to_json(); validated against options (subnets inside the runtime
  // subnet, no overlaps, no reserved ranges, addresses usable and unique).
  static Result<Ipam> from_json(const nlohmann::json& document, IpamOptions options = {});
  // Reconciliation: the networks (name + subnet) and allocations that really exist. The default
  // network is added when missing. Conflicts (two containers on one address) are errors.
  static Result<Ipam> rebuild(const std::vector<std::pair<std::string, Subnet>>& networks,
                              const std::vector<Allocation>& allocations, IpamOptions options = {});

  nlohmann::json to_json() const;

  // Creates a network on the lowest free subnet that is neither used nor reserved.
  Result<const Network*> create_network(std::string_view name);
  // Refused while containers hold addresses, and for the default network.
  Status remove_network(std::string_view name);
  const Network* find_network(std::string_view name) const;
  const std::vector<Network>& networks() const { return networks_; }

  // Lowest free address (skipping network, gateway and broadcast). One address per container
  // per network: a second allocation for the same container is an error.
  Result<Ipv4> allocate(std::string_view network, std::string_view container_id);
  // Claims a specific address (reconciliation, or adoption of a running container).
  Status allocate_address(std::string_view network, std::string_view container_id, Ipv4 address);
  // Releases every address the container holds; returns how many (0 is not an error, so that
  // rollback and reconciliation can call it blindly).
  std::size_t release(std::string_view container_id);
  std::optional<Allocation> find_allocation(std::string_view container_id) const;
  std::vector<Allocation> allocations() const;

  const IpamOptions& options() const { return options_; }

 private:
  explicit Ipam(IpamOptions options) : options_(std::move(options)) {}
  Network* find_mutable(std::string_view name);
  Status add_network(std::string_view name, const Subnet& subnet);
  Status check_usable(const Network& network, Ipv4 address) const;

  IpamOptions options_;
  std::vector<Network> networks_;  // creation order; the default network first
};

}  // namespace raind::condenser::network

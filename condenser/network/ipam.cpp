#include "condenser/network/ipam.hpp"

#include <algorithm>
#include <set>

#include <fmt/core.h>

#include "condenser/network/network_name.hpp"

namespace raind::condenser::network {
namespace {

using json = nlohmann::json;

constexpr int kFormatVersion = 1;

Status validate_options(const IpamOptions& o) {
  if (o.network_prefix < o.runtime_subnet.prefix || o.network_prefix > 30)
    return failf(Errc::invalid_argument,
                 "ipam: network prefix /{} must be between the runtime subnet's /{} and /30",
                 o.network_prefix, o.runtime_subnet.prefix);
  return validate_network_name(o.default_network);
}

// Strict reading of our own format: unknown keys are errors, so a typo cannot silently drop data.
Status only_keys(const json& object, std::initializer_list<std::string_view> keys,
                 std::string_view where) {
  if (!object.is_object()) return failf(Errc::parse, "{}: expected an object", where);
  for (const auto& [key, value] : object.items()) {
    if (std::find(keys.begin(), keys.end(), key) == keys.end())
      return failf(Errc::parse, "{}: unknown field \"{}\"", where, key);
  }
  return ok();
}

Result<std::string> string_field(const json& object, const char* key, std::string_view where) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string())
    return failf(Errc::parse, "{}.{}: required string", where, key);
  return it->get<std::string>();
}

}  // namespace

std::string Network::gateway_cidr() const {
  return fmt::format("{}/{}", format_ipv4(gateway), subnet.prefix);
}

std::optional<Ipv4> Network::address_of(std::string_view container_id) const {
  for (const auto& [address, owner] : allocations)
    if (owner == container_id) return address;
  return std::nullopt;
}

Result<Ipam> Ipam::create(IpamOptions options) {
  RAIND_TRY(validate_options(options));
  Ipam ipam(std::move(options));
  RAIND_TRY(ipam.create_network(ipam.options_.default_network));
  return ipam;
}

Network* Ipam::find_mutable(std::string_view name) {
  for (auto& n : networks_)
    if (n.name == name) return &n;
  return nullptr;
}

const Network* Ipam::find_network(std::string_view name) const {
  for (const auto& n : networks_)
    if (n.name == name) return &n;
  return nullptr;
}

Status Ipam::add_network(std::string_view name, const Subnet& subnet) {
  RAIND_TRY(validate_network_name(name));
  if (find_network(name)) return failf(Errc::already_exists, "network \"{}\" already exists", name);
  if (subnet.prefix != options_.network_prefix)
    return failf(Errc::invalid_argument, "network \"{}\": subnet {} is not a /{}", name,
                 subnet.to_string(), options_.network_prefix);
  if (!options_.runtime_subnet.contains(subnet))
    return failf(Errc::invalid_argument,
                 "network \"{}\": subnet {} is outside the runtime subnet {}", name,
                 subnet.to_string(), options_.runtime_subnet.to_string());
  for (const auto& reserved : options_.reserved)
    if (reserved.overlaps(subnet))
      return failf(Errc::invalid_argument, "network \"{}\": subnet {} overlaps reserved {}", name,
                   subnet.to_string(), reserved.to_string());
  for (const auto& other : networks_)
    if (other.subnet.overlaps(subnet))
      return failf(Errc::conflict, "network \"{}\": subnet {} overlaps network \"{}\" ({})", name,
                   subnet.to_string(), other.name, other.subnet.to_string());
  Network n;
  n.name = std::string(name);
  n.subnet = subnet;
  n.gateway = subnet.broadcast() - 1;
  networks_.push_back(std::move(n));
  return ok();
}

Result<const Network*> Ipam::create_network(std::string_view name) {
  RAIND_TRY(validate_network_name(name));
  if (find_network(name)) return failf(Errc::already_exists, "network \"{}\" already exists", name);
  const Subnet& runtime = options_.runtime_subnet;
  const std::uint64_t step = std::uint64_t{1} << (32 - options_.network_prefix);
  for (std::uint64_t offset = 0; offset < runtime.size(); offset += step) {
    Subnet candidate{static_cast<Ipv4>(runtime.network + offset), options_.network_prefix};
    auto clash = [&](const Subnet& s) { return s.overlaps(candidate); };
    if (std::any_of(options_.reserved.begin(), options_.reserved.end(), clash)) continue;
    if (std::any_of(networks_.begin(), networks_.end(),
                    [&](const Network& n) { return clash(n.subnet); }))
      continue;
    RAIND_TRY(add_network(name, candidate));
    return &networks_.back();
  }
  return failf(Errc::unavailable, "network \"{}\": no free /{} left in {}", name,
               options_.network_prefix, runtime.to_string());
}

Status Ipam::remove_network(std::string_view name) {
  auto it = std::find_if(networks_.begin(), networks_.end(),
                         [&](const Network& n) { return n.name == name; });
  if (it == networks_.end()) return failf(Errc::not_found, "network \"{}\" does not exist", name);
  if (name == options_.default_network)
    return failf(Errc::conflict, "network \"{}\" is the default network and cannot be removed",
                 name);
  if (!it->allocations.empty())
    return failf(Errc::conflict, "network \"{}\" is in use by {} container(s)", name,
                 it->allocations.size());
  networks_.erase(it);
  return ok();
}

Status Ipam::check_usable(const Network& n, Ipv4 address) const {
  if (!n.subnet.contains(address))
    return failf(Errc::invalid_argument, "network \"{}\": {} is outside {}", n.name,
                 format_ipv4(address), n.subnet.to_string());
  if (address == n.subnet.network || address == n.subnet.broadcast() || address == n.gateway)
    return failf(Errc::invalid_argument,
                 "network \"{}\": {} is the network, gateway or broadcast address", n.name,
                 format_ipv4(address));
  return ok();
}

Result<Ipv4> Ipam::allocate(std::string_view network, std::string_view container_id) {
  Network* n = find_mutable(network);
  if (!n) return failf(Errc::not_found, "network \"{}\" does not exist", network);
  if (container_id.empty()) return fail(Errc::invalid_argument, "ipam: empty container id");
  if (auto existing = n->address_of(container_id))
    return failf(Errc::already_exists, "network \"{}\": container {} already holds {}", network,
                 container_id, format_ipv4(*existing));
  for (Ipv4 a = n->subnet.network + 1; a < n->subnet.broadcast(); ++a) {
    if (a == n->gateway || n->allocations.contains(a)) continue;
    n->allocations.emplace(a, std::string(container_id));
    return a;
  }
  return failf(Errc::unavailable, "network \"{}\": no free address left in {}", network,
               n->subnet.to_string());
}

Status Ipam::allocate_address(std::string_view network, std::string_view container_id,
                              Ipv4 address) {
  Network* n = find_mutable(network);
  if (!n) return failf(Errc::not_found, "network \"{}\" does not exist", network);
  if (container_id.empty()) return fail(Errc::invalid_argument, "ipam: empty container id");
  RAIND_TRY(check_usable(*n, address));
  if (auto it = n->allocations.find(address); it != n->allocations.end()) {
    if (it->second == container_id) return ok();
    return failf(Errc::already_exists, "network \"{}\": {} is already held by container {}",
                 network, format_ipv4(address), it->second);
  }
  if (auto existing = n->address_of(container_id))
    return failf(Errc::already_exists, "network \"{}\": container {} already holds {}", network,
                 container_id, format_ipv4(*existing));
  n->allocations.emplace(address, std::string(container_id));
  return ok();
}

std::size_t Ipam::release(std::string_view container_id) {
  std::size_t released = 0;
  for (auto& n : networks_)
    released +=
        std::erase_if(n.allocations, [&](const auto& a) { return a.second == container_id; });
  return released;
}

std::optional<Allocation> Ipam::find_allocation(std::string_view container_id) const {
  for (const auto& n : networks_)
    if (auto a = n.address_of(container_id))
      return Allocation{n.name, std::string(container_id), *a};
  return std::nullopt;
}

std::vector<Allocation> Ipam::allocations() const {
  std::vector<Allocation> out;
  for (const auto& n : networks_)
    for (const auto& [address, id] : n.allocations) out.push_back({n.name, id, address});
  return out;
}

json Ipam::to_json() const {
  json networks = json::array();
  for (const auto& n : networks_) {
    json allocations = json::array();
    for (const auto& [address, id] : n.allocations)
      allocations.push_back({{"address", format_ipv4(address)}, {"containerId", id}});
    networks.push_back({{"name", n.name},
                        {"subnet", n.subnet.to_string()},
                        {"gateway", format_ipv4(n.gateway)},
                        {"allocations", allocations}});
  }
  return {{"version", kFormatVersion},
          {"runtimeSubnet", options_.runtime_subnet.to_string()},
          {"networks", networks}};
}

Result<Ipam> Ipam::from_json(const json& doc, IpamOptions options) {
  RAIND_TRY(validate_options(options));
  RAIND_TRY(only_keys(doc, {"version", "runtimeSubnet", "networks"}, "ipam"));
  auto version = doc.find("version");
  if (version == doc.end() || !version->is_number_integer() || *version != kFormatVersion)
    return failf(Errc::parse, "ipam.version: expected {}", kFormatVersion);
  RAIND_TRY_ASSIGN(std::string runtime_text, string_field(doc, "runtimeSubnet", "ipam"));
  RAIND_TRY_ASSIGN(Subnet runtime, with_context(parse_subnet(runtime_text), "ipam.runtimeSubnet"));
  if (runtime != options.runtime_subnet)
    return failf(Errc::conflict, "ipam.runtimeSubnet: persisted {} differs from configured {}",
                 runtime.to_string(), options.runtime_subnet.to_string());
  auto networks = doc.find("networks");
  if (networks == doc.end() || !networks->is_array())
    return fail(Errc::parse, "ipam.networks: required array");

  Ipam ipam(std::move(options));
  for (std::size_t i = 0; i < networks->size(); ++i) {
    const json& nj = (*networks)[i];
    const std::string where = fmt::format("ipam.networks[{}]", i);
    RAIND_TRY(only_keys(nj, {"name", "subnet", "gateway", "allocations"}, where));
    RAIND_TRY_ASSIGN(std::string name, string_field(nj, "name", where));
    RAIND_TRY_ASSIGN(std::string subnet_text, string_field(nj, "subnet", where));
    RAIND_TRY_ASSIGN(Subnet subnet, with_context(parse_subnet(subnet_text), where + ".subnet"));
    RAIND_TRY(with_context(ipam.add_network(name, subnet), where));
    const Network& added = ipam.networks_.back();
    RAIND_TRY_ASSIGN(std::string gateway_text, string_field(nj, "gateway", where));
    if (gateway_text != format_ipv4(added.gateway))
      return failf(Errc::parse, "{}.gateway: \"{}\" is not {}", where, gateway_text,
                   format_ipv4(added.gateway));
    auto allocations = nj.find("allocations");
    if (allocations == nj.end() || !allocations->is_array())
      return failf(Errc::parse, "{}.allocations: required array", where);
    for (std::size_t k = 0; k < allocations->size(); ++k) {
      const json& aj = (*allocations)[k];
      const std::string awhere = fmt::format("{}.allocations[{}]", where, k);
      RAIND_TRY(only_keys(aj, {"address", "containerId"}, awhere));
      RAIND_TRY_ASSIGN(std::string address_text, string_field(aj, "address", awhere));
      RAIND_TRY_ASSIGN(Ipv4 address, with_context(parse_ipv4(address_text), awhere + ".address"));
      RAIND_TRY_ASSIGN(std::string id, string_field(aj, "containerId", awhere));
      RAIND_TRY(with_context(ipam.allocate_address(name, id, address), awhere));
    }
  }
  if (!ipam.find_network(ipam.options_.default_network))
    return failf(Errc::parse, "ipam.networks: the default network \"{}\" is missing",
                 ipam.options_.default_network);
  return ipam;
}

Result<Ipam> Ipam::rebuild(const std::vector<std::pair<std::string, Subnet>>& networks,
                           const std::vector<Allocation>& allocations, IpamOptions options) {
  RAIND_TRY(validate_options(options));
  Ipam ipam(std::move(options));
  // The default network keeps its place first, whatever order the caller found things in.
  auto default_it = std::find_if(networks.begin(), networks.end(), [&](const auto& n) {
    return n.first == ipam.options_.default_network;
  });
  if (default_it != networks.end()) {
    RAIND_TRY(
        with_context(ipam.add_network(default_it->first, default_it->second), "ipam rebuild"));
  } else {
    RAIND_TRY(with_context(ipam.create_network(ipam.options_.default_network), "ipam rebuild"));
  }
  for (const auto& [name, subnet] : networks) {
    if (name == ipam.options_.default_network) continue;
    RAIND_TRY(with_context(ipam.add_network(name, subnet), "ipam rebuild"));
  }
  for (const auto& a : allocations)
    RAIND_TRY(
        with_context(ipam.allocate_address(a.network, a.container_id, a.address), "ipam rebuild"));
  return ipam;
}

}  // namespace raind::condenser::network

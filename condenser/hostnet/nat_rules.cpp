#include "condenser/hostnet/nat_rules.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <set>
#include <tuple>

#include <fmt/format.h>

namespace raind::condenser::hostnet {
namespace {

bool is_ipv4(std::string_view text) {
  if (text.empty() || text.size() > 15) return false;
  in_addr parsed{};
  return ::inet_pton(AF_INET, std::string(text).c_str(), &parsed) == 1;
}

bool is_ipv4_cidr(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos || !is_ipv4(text.substr(0, slash))) return false;
  auto digits = text.substr(slash + 1);
  unsigned prefix = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
  return ec == std::errc() && end == digits.data() + digits.size() && !digits.empty() &&
         prefix <= 32;
}

bool is_safe_id(std::string_view id) {
  return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

bool any_host_ip(std::string_view host_ip) {
  return host_ip.empty() || host_ip == "0.0.0.0";
}

}  // namespace

Status validate_nat_input(const NatInput& input) {
  if (!is_ipv4_cidr(input.runtime_subnet))
    return failf(Errc::invalid_argument, "runtime subnet '{}' is not an IPv4 CIDR",
                 input.runtime_subnet);
  for (const auto& bridge : input.bridges)
    if (bridge.empty() || bridge.size() > 15 || !is_safe_id(bridge))
      return failf(Errc::invalid_argument, "bridge name '{}' is not a valid interface name",
                   bridge);
  if (!input.dns_proxy.empty() && !is_ipv4(input.dns_proxy))
    return failf(Errc::invalid_argument, "DNS proxy address '{}' is not IPv4", input.dns_proxy);
  for (const auto& p : input.ports) {
    if (!is_safe_id(p.container_id))
      return failf(Errc::invalid_argument, "published port: container id '{}' is not valid",
                   p.container_id);
    if (p.protocol != "tcp" && p.protocol != "udp")
      return failf(Errc::invalid_argument, "container {}: protocol '{}' is not tcp or udp",
                   p.container_id, p.protocol);
    if (!is_ipv4(p.container_ip))
      return failf(Errc::invalid_argument, "container {}: address '{}' is not IPv4", p.container_id,
                   p.container_ip);
    if (!any_host_ip(p.host_ip) && !is_ipv4(p.host_ip))
      return failf(Errc::invalid_argument, "container {}: host address '{}' is not IPv4",
                   p.container_id, p.host_ip);
    if (p.host_port == 0 || p.container_port == 0)
      return failf(Errc::invalid_argument, "container {}: port 0 cannot be published",
                   p.container_id);
  }
  return ok();
}

std::string render_nat_rules(const NatInput& input) {
  std::vector<PublishedPort> ports = input.ports;
  for (auto& p : ports)
    if (p.host_ip.empty()) p.host_ip = "0.0.0.0";
  std::sort(ports.begin(), ports.end(), [](const auto& a, const auto& b) {
    return std::tie(a.protocol, a.host_port, a.host_ip, a.container_id, a.container_ip,
                    a.container_port) < std::tie(b.protocol, b.host_port, b.host_ip, b.container_id,
                                                 b.container_ip, b.container_port);
  });
  const std::string& subnet = input.runtime_subnet;
  std::string out = "*nat\n";
  out += fmt::format(":{} - [0:0]\n:{} - [0:0]\n:{} - [0:0]\n", kDnsChain, kPostroutingChain,
                     kPublishChain);

  // Port 53 from any container, to any address, goes to the proxy (queries to the gateway, to
  // a resolver the image hard-codes, to the world). Bridges are listed in name order.
  if (!input.dns_proxy.empty()) {
    std::vector<std::string> bridges = input.bridges;
    std::sort(bridges.begin(), bridges.end());
    bridges.erase(std::unique(bridges.begin(), bridges.end()), bridges.end());
    for (const auto& bridge : bridges)
      for (const char* proto : {"udp", "tcp"})
        out += fmt::format("-A {} -i {} -p {} -m {} --dport 53 -j DNAT --to-destination {}:53\n",
                           kDnsChain, bridge, proto, proto, input.dns_proxy);
  }

  // Containers reach the world with the host's address.
  out += fmt::format("-A {} -s {} ! -d {} -j MASQUERADE\n", kPostroutingChain, subnet, subnet);
  // Hairpin: a container reaching its own published port through a host address. Without the
  // masquerade the reply would go straight back inside the container and never be un-DNAT'ed.
  std::set<std::string> hairpins;  // two host ports may lead to the same container port
  for (const auto& p : ports) {
    auto rule = fmt::format("-A {} -s {}/32 -d {}/32 -p {} -m {} --dport {} -j MASQUERADE\n",
                            kPostroutingChain, p.container_ip, p.container_ip, p.protocol,
                            p.protocol, p.container_port);
    if (hairpins.insert(rule).second) out += rule;
  }
  // The same for a sibling's published port: the reply must come back through the host.
  out += fmt::format("-A {} -s {} -d {} -m conntrack --ctstate DNAT -j MASQUERADE\n",
                     kPostroutingChain, subnet, subnet);
  // The host itself reaching a published port (OUTPUT DNAT): its source may be an address the
  // container cannot route back to, so it leaves with the bridge's.
  out += fmt::format("-A {} -d {} -m addrtype --src-type LOCAL -j MASQUERADE\n", kPostroutingChain,
                     subnet);

  for (const auto& p : ports) {
    std::string dest = any_host_ip(p.host_ip) ? std::string() : fmt::format(" -d {}/32", p.host_ip);
    out += fmt::format(
        "-A {}{} -p {} -m {} --dport {} -m comment --comment \"raind:{}\" -j DNAT "
        "--to-destination {}:{}\n",
        kPublishChain, dest, p.protocol, p.protocol, p.host_port, p.container_id, p.container_ip,
        p.container_port);
  }
  out += "COMMIT\n";
  return out;
}

std::vector<Jump> nat_jumps() {
  return {
      {"PREROUTING", {"-j", std::string(kDnsChain)}},
      {"PREROUTING", {"-m", "addrtype", "--dst-type", "LOCAL", "-j", std::string(kPublishChain)}},
      {"OUTPUT",
       {"!", "-d", "127.0.0.0/8", "-m", "addrtype", "--dst-type", "LOCAL", "-j",
        std::string(kPublishChain)}},
      {"POSTROUTING", {"-j", std::string(kPostroutingChain)}},
  };
}

}  // namespace raind::condenser::hostnet

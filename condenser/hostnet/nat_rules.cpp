#include "condenser/hostnet/nat_rules.hpp"

#include <algorithm>
#include <tuple>

#include <fmt/format.h>

namespace raind::condenser::hostnet {

std::string render_nat_rules(const NatInput& input) {
  std::vector<PublishedPort> ports = input.ports;
  std::sort(ports.begin(), ports.end(), [](const auto& a, const auto& b) {
    return std::tie(a.protocol, a.host_port, a.host_ip, a.container_id) <
           std::tie(b.protocol, b.host_port, b.host_ip, b.container_id);
  });
  std::string out = "*nat\n";
  out += fmt::format(":{} - [0:0]\n:{} - [0:0]\n", kPublishChain, kPostroutingChain);
  const std::string& subnet = input.runtime_subnet;
  // Containers reach the world with the host's address.
  out += fmt::format("-A {} -s {} ! -d {} -j MASQUERADE\n", kPostroutingChain, subnet, subnet);
  // A container reaching a published port through a host address lands on a sibling (or itself):
  // the reply must come back through the host to be un-DNAT'ed, so the source is the gateway.
  out += fmt::format("-A {} -s {} -d {} -m conntrack --ctstate DNAT -j MASQUERADE\n",
                     kPostroutingChain, subnet, subnet);
  for (const auto& p : ports) {
    std::string dest = p.host_ip.empty() || p.host_ip == "0.0.0.0"
                           ? std::string()
                           : fmt::format(" -d {}/32", p.host_ip);
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
      {"PREROUTING", {"-m", "addrtype", "--dst-type", "LOCAL", "-j", std::string(kPublishChain)}},
      {"OUTPUT",
       {"!", "-d", "127.0.0.0/8", "-m", "addrtype", "--dst-type", "LOCAL", "-j",
        std::string(kPublishChain)}},
      {"POSTROUTING", {"-j", std::string(kPostroutingChain)}},
  };
}

}  // namespace raind::condenser::hostnet

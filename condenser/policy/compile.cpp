#include "condenser/policy/compile.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "condenser/network/ipv4.hpp"

namespace raind::condenser::policy {
namespace {

constexpr std::string_view kRoot = "RAIND-ROOT";
constexpr std::string_view kEastWest = "RAIND-EW";
constexpr std::string_view kObserve = "RAIND-NS-OBS";
constexpr std::string_view kEnforce = "RAIND-NS-ENF";
constexpr std::string_view kInput = "RAIND-INPUT";

bool is_ifname(std::string_view s) {
  return !s.empty() && s.size() < 16 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

// " -p tcp" and " -m tcp --dport 80": iptables-save prints -p before every -m match and the
// port match after the others, so the payload is written in that order and reads back equal.
std::string protocol_flag(const Policy& p) {
  return p.protocol.empty() ? std::string() : fmt::format(" -p {}", p.protocol);
}
std::string port_match(const Policy& p) {
  return p.dport == 0 ? std::string() : fmt::format(" -m {} --dport {}", p.protocol, p.dport);
}

std::string with_prefix(std::string_view address) {
  return address.find('/') == std::string_view::npos ? std::string(address) + "/32"
                                                     : std::string(address);
}

class Payload {
 public:
  void rule(std::string_view chain, const std::string& spec) {
    text_ += fmt::format("-A {}{}\n", chain, spec);
    ++rules_;
  }
  // NFLOG for new connections, then the verdict, with the same match.
  void logged(std::string_view chain, const std::string& match, int group,
              const std::string& prefix, std::string_view verdict) {
    rule(chain, fmt::format("{} -m conntrack --ctstate NEW -j NFLOG --nflog-prefix {} "
                            "--nflog-group {}",
                            match, prefix, group));
    rule(chain, fmt::format("{} -j {}", match, verdict));
  }
  std::string take() { return std::move(text_); }
  std::size_t rules() const { return rules_; }

 private:
  std::string text_;
  std::size_t rules_ = 0;
};

}  // namespace

std::vector<std::string> managed_chains() {
  return {std::string(kRoot), std::string(kEastWest), std::string(kObserve), std::string(kEnforce),
          std::string(kInput)};
}

std::vector<FilterJump> filter_jumps() {
  return {{"FORWARD", std::string(kRoot)}, {"INPUT", std::string(kInput)}};
}

Status validate_compile_input(const CompileInput& input) {
  for (const auto& b : input.bridges) {
    if (!is_ifname(b.name)) return failf(Errc::invalid_argument, "bridge name '{}'", b.name);
    if (!network::parse_ipv4(b.gateway))
      return failf(Errc::invalid_argument, "bridge {} gateway '{}'", b.name, b.gateway);
  }
  for (const auto& c : input.containers) {
    if (!is_ifname(c.veth) || !is_ifname(c.bridge) || !network::parse_ipv4(c.ip))
      return failf(Errc::invalid_argument, "container {}: veth '{}', bridge '{}', ip '{}'", c.id,
                   c.veth, c.bridge, c.ip);
  }
  for (const auto& p : input.policies) RAIND_TRY(validate_policy(p));
  return ok();
}

CompileOutput compile_policies(const CompileInput& input) {
  CompileOutput out;
  Payload payload;
  std::map<std::string, const ContainerEndpoint*> by_ref;
  for (const auto& c : input.containers) by_ref[c.id] = &c;
  for (const auto& c : input.containers) by_ref[c.name] = &c;  // names win over id collisions
  auto resolve = [&](const std::string& ref) -> const ContainerEndpoint* {
    auto it = by_ref.find(ref);
    return it == by_ref.end() ? nullptr : it->second;
  };
  std::vector<const Policy*> policies;
  for (const auto& p : input.policies) policies.push_back(&p);
  std::stable_sort(policies.begin(), policies.end(),
                   [](const Policy* a, const Policy* b) { return a->id < b->id; });

  std::string text = "*filter\n";
  for (const auto& chain : managed_chains()) text += fmt::format(":{} - [0:0]\n", chain);

  // RAIND-ROOT
  payload.rule(kRoot, " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
  for (const auto& b : input.bridges)
    payload.rule(kRoot, fmt::format(" -o {} -m conntrack --ctstate DNAT -j ACCEPT", b.name));
  for (const auto& from : input.bridges)
    for (const auto& to : input.bridges)
      payload.rule(kRoot, fmt::format(" -i {} -o {} -j {}", from.name, to.name, kEastWest));
  const auto ns_chain = input.mode == NsMode::enforce ? kEnforce : kObserve;
  for (const auto& b : input.bridges)
    payload.rule(kRoot, fmt::format(" -i {} -j {}", b.name, ns_chain));
  for (const auto& b : input.bridges) payload.rule(kRoot, fmt::format(" -o {} -j DROP", b.name));
  payload.rule(kRoot, " -j RETURN");

  // RAIND-EW
  for (const Policy* p : policies) {
    if (p->type != PolicyType::east_west) continue;
    const auto* src = resolve(p->source);
    const auto* dst = resolve(p->destination);
    if (!src || !dst) {
      out.unresolved.emplace_back(
          p->id, fmt::format("container '{}' not found", !src ? p->source : p->destination));
      continue;
    }
    out.bindings.emplace_back(p->id, src->id + ">" + dst->id);
    std::string match =
        src->bridge == dst->bridge
            ? fmt::format("{} -m physdev --physdev-in {} --physdev-out {} --physdev-is-bridged",
                          protocol_flag(*p), src->veth, dst->veth)
            : fmt::format(" -s {}/32 -d {}/32 -i {} -o {}{}", src->ip, dst->ip, src->bridge,
                          dst->bridge, protocol_flag(*p));
    payload.logged(kEastWest, match + port_match(*p), kGroupEastWest,
                   fmt::format("\"RAIND-EW-ALLOW,id={}\"", p->id), "ACCEPT");
  }
  payload.logged(kEastWest, "", kGroupEastWest, "\"RAIND-EW-DENY,id=predefined\"", "DROP");

  // RAIND-NS-OBS and RAIND-NS-ENF: both always filled, so a mode change is one jump.
  for (auto [type, chain, group, prefix, verdict] :
       {std::tuple{PolicyType::ns_observe, kObserve, kGroupObserve, "RAIND-NS-DENY", "DROP"},
        std::tuple{PolicyType::ns_enforce, kEnforce, kGroupEnforce, "RAIND-NS-ALLOW", "ACCEPT"}}) {
    for (const Policy* p : policies) {
      if (p->type != type) continue;
      const auto* src = resolve(p->source);
      if (!src) {
        out.unresolved.emplace_back(p->id, fmt::format("container '{}' not found", p->source));
        continue;
      }
      out.bindings.emplace_back(p->id, src->id + ">");
      std::string match =
          fmt::format(" -s {}/32 -d {} -i {}{}{}", src->ip, with_prefix(p->destination),
                      src->bridge, protocol_flag(*p), port_match(*p));
      payload.logged(chain, match, group, fmt::format("\"{},id={}\"", prefix, p->id), verdict);
    }
  }
  payload.logged(kObserve, "", kGroupObserve, "\"RAIND-NS-ALLOW,id=predefined\"", "ACCEPT");
  payload.logged(kEnforce, "", kGroupEnforce, "\"RAIND-NS-DENY,id=predefined\"", "DROP");

  // RAIND-INPUT: containers reach the host only for replies and DNS (gateway or proxy).
  for (const auto& b : input.bridges) {
    payload.rule(
        kInput, fmt::format(" -i {} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", b.name));
    for (const char* proto : {"udp", "tcp"})
      payload.rule(kInput, fmt::format(" -d {}/32 -i {} -p {} -m {} --dport 53 -j ACCEPT",
                                       b.gateway, b.name, proto, proto));
    if (!input.dns_proxy.empty())
      for (const char* proto : {"udp", "tcp"})
        payload.rule(kInput, fmt::format(" -d {}/32 -i {} -p {} -m {} --dport 53 -j ACCEPT",
                                         input.dns_proxy, b.name, proto, proto));
    payload.logged(kInput, fmt::format(" -i {}", b.name), kGroupEastWest,
                   "\"RAIND-EW-DENY,id=host\"", "DROP");
  }
  payload.rule(kInput, " -j RETURN");

  out.rules = payload.rules();
  out.payload = text + payload.take() + "COMMIT\n";
  return out;
}

}  // namespace raind::condenser::policy

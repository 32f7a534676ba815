#include "condenser/identity/identity.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace raind::condenser::identity {

bool Ipv4Net::contains(std::uint32_t ip) const {
  if (prefix == 0) return true;
  std::uint32_t mask = prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
  return (ip & mask) == (address & mask);
}

std::optional<std::uint32_t> parse_ipv4(std::string_view text) {
  if (text.empty() || text.size() > 15) return std::nullopt;
  char buf[16] = {};
  text.copy(buf, text.size());
  in_addr a{};
  if (::inet_pton(AF_INET, buf, &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::optional<Ipv4Net> parse_ipv4_net(std::string_view cidr) {
  auto slash = cidr.find('/');
  auto ip = parse_ipv4(cidr.substr(0, slash));
  if (!ip) return std::nullopt;
  unsigned prefix = 32;
  if (slash != std::string_view::npos) {
    auto digits = cidr.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
    if (ec != std::errc() || end != digits.data() + digits.size() || prefix > 32)
      return std::nullopt;
  }
  return Ipv4Net{*ip, prefix};
}

Snapshot::Snapshot(std::vector<ContainerIdentity> containers,
                   std::vector<Ipv4Net> container_networks)
    : containers_(std::move(containers)), networks_(std::move(container_networks)) {
  for (std::size_t i = 0; i < containers_.size(); ++i) {
    if (!containers_[i].ip.empty()) by_ip_.emplace(containers_[i].ip, i);
    if (!containers_[i].mac.empty()) by_mac_.emplace(containers_[i].mac, i);
    if (!containers_[i].name.empty()) by_name_.emplace(containers_[i].name, i);
  }
}

const ContainerIdentity* Snapshot::by_ip(std::string_view ip) const {
  auto it = by_ip_.find(std::string(ip));
  return it == by_ip_.end() ? nullptr : &containers_[it->second];
}

const ContainerIdentity* Snapshot::by_mac(std::string_view mac) const {
  auto it = by_mac_.find(std::string(mac));
  return it == by_mac_.end() ? nullptr : &containers_[it->second];
}

const ContainerIdentity* Snapshot::by_name(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? nullptr : &containers_[it->second];
}

std::optional<std::string> resolve_bottle_service(const Snapshot& snapshot,
                                                  std::string_view client_ip,
                                                  std::string_view qname) {
  const auto* client = snapshot.by_ip(client_ip);
  if (!client || client->bottle.empty()) return std::nullopt;
  std::string name(qname);
  if (!name.empty() && name.back() == '.') name.pop_back();
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::string suffix = "." + client->bottle;
  if (name.size() > suffix.size() && name.ends_with(suffix))
    name.resize(name.size() - suffix.size());
  if (name.empty() || name.find('.') != std::string::npos) return std::nullopt;
  const auto* target = snapshot.by_name(client->bottle + "-" + name);
  if (!target || target->bottle != client->bottle || target->ip.empty()) return std::nullopt;
  return target->ip;
}

bool Snapshot::in_container_networks(std::string_view ip) const {
  auto parsed = parse_ipv4(ip);
  if (!parsed) return false;
  for (const auto& n : networks_)
    if (n.contains(*parsed)) return true;
  return false;
}

Directory::Directory() : snapshot_(std::make_shared<const Snapshot>()) {}

void Directory::publish(std::vector<ContainerIdentity> containers,
                        std::vector<Ipv4Net> container_networks) {
  auto next =
      std::make_shared<const Snapshot>(std::move(containers), std::move(container_networks));
  std::atomic_store(&snapshot_, std::move(next));
  generation_.fetch_add(1);
}

std::shared_ptr<const Snapshot> Directory::current() const {
  return std::atomic_load(&snapshot_);
}

}  // namespace raind::condenser::identity

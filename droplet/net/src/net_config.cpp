#include "raind/droplet/net_config.hpp"

#include <arpa/inet.h>

#include <charconv>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace raind::droplet::net {

std::string ipv4_to_string(std::uint32_t a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

std::string Ipv4Cidr::to_string() const {
  return fmt::format("{}/{}", ipv4_to_string(address), prefix);
}
std::string Ipv4Cidr::address_string() const {
  return ipv4_to_string(address);
}
bool Ipv4Cidr::contains(std::uint32_t other) const {
  std::uint32_t mask = prefix == 0 ? 0 : ~std::uint32_t{0} << (32 - prefix);
  return (address & mask) == (other & mask);
}

Result<std::uint32_t> parse_ipv4(std::string_view text) {
  in_addr addr{};
  std::string copy(text);
  if (inet_pton(AF_INET, copy.c_str(), &addr) != 1)
    return failf(Errc::invalid_argument, "{:?} is not an IPv4 address", text);
  return ntohl(addr.s_addr);
}

Result<Ipv4Cidr> parse_ipv4_cidr(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return failf(Errc::invalid_argument, "{:?} is not an IPv4 CIDR (missing /prefix)", text);
  RAIND_TRY_ASSIGN(std::uint32_t address, parse_ipv4(text.substr(0, slash)));
  std::string_view prefix_text = text.substr(slash + 1);
  unsigned prefix = 0;
  auto [end, ec] =
      std::from_chars(prefix_text.data(), prefix_text.data() + prefix_text.size(), prefix);
  if (ec != std::errc() || end != prefix_text.data() + prefix_text.size() || prefix > 32 ||
      prefix_text.empty())
    return failf(Errc::invalid_argument, "{:?} has an invalid prefix length", text);
  return Ipv4Cidr{address, prefix};
}

Result<MacAddress> parse_mac(std::string_view text) {
  MacAddress mac{};
  if (text.size() != 17) return failf(Errc::invalid_argument, "{:?} is not a MAC address", text);
  for (std::size_t i = 0; i < 6; ++i) {
    if (i > 0 && text[i * 3 - 1] != ':')
      return failf(Errc::invalid_argument, "{:?} is not a MAC address", text);
    auto [end, ec] = std::from_chars(text.data() + i * 3, text.data() + i * 3 + 2, mac[i], 16);
    if (ec != std::errc() || end != text.data() + i * 3 + 2)
      return failf(Errc::invalid_argument, "{:?} is not a MAC address", text);
  }
  if (mac[0] & 0x01) return failf(Errc::invalid_argument, "{:?} is a multicast MAC address", text);
  return mac;
}

std::string mac_to_string(const MacAddress& m) {
  return fmt::format("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4],
                     m[5]);
}

MacAddress mac_from_ipv4(std::uint32_t a) {
  return {0x02,
          0x52,
          static_cast<std::uint8_t>(a >> 24),
          static_cast<std::uint8_t>(a >> 16),
          static_cast<std::uint8_t>(a >> 8),
          static_cast<std::uint8_t>(a)};
}

Status validate_interface_name(std::string_view name, std::string_view what) {
  if (name.empty()) return failf(Errc::invalid_argument, "{}: interface name is empty", what);
  if (name.size() > 15)
    return failf(Errc::invalid_argument, "{}: interface name {:?} is longer than 15 bytes", what,
                 name);
  if (name == "." || name == "..")
    return failf(Errc::invalid_argument, "{}: interface name {:?} is reserved", what, name);
  for (char c : name) {
    if (c == '/' || c == ':' || c <= ' ' || c == 0x7f)
      return failf(Errc::invalid_argument, "{}: interface name {:?} contains an invalid character",
                   what, name);
  }
  return ok();
}

namespace {

Result<std::string> required_string(const nlohmann::json& obj, const char* key,
                                    std::string_view path) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null())
    return failf(Errc::invalid_argument, "{}.{}: required", path, key);
  if (!it->is_string()) return failf(Errc::invalid_argument, "{}.{}: expected string", path, key);
  return it->get<std::string>();
}

}  // namespace

Result<NetConfig> parse_net_config(std::string_view json_text) {
  const std::string root(kNetAnnotation);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text.begin(), json_text.end());
  } catch (const nlohmann::json::parse_error& e) {
    return failf(Errc::parse, "{}: invalid JSON at byte {}", root, e.byte);
  }
  if (!doc.is_object()) return failf(Errc::invalid_argument, "{}: expected an object", root);

  NetConfig cfg;
  if (auto it = doc.find("hostInterface"); it != doc.end() && !it->is_null()) {
    if (!it->is_string())
      return failf(Errc::invalid_argument, "{}.hostInterface: expected string", root);
    cfg.host_interface = it->get<std::string>();
  }
  RAIND_TRY_ASSIGN(cfg.bridge_interface, required_string(doc, "bridgeInterface", root));
  RAIND_TRY(validate_interface_name(cfg.bridge_interface, root + ".bridgeInterface"));

  auto iface = doc.find("interface");
  if (iface == doc.end() || !iface->is_object())
    return failf(Errc::invalid_argument, "{}.interface: required object", root);
  const std::string ipath = root + ".interface";
  RAIND_TRY_ASSIGN(cfg.veth_name, required_string(*iface, "name", ipath));
  RAIND_TRY(validate_interface_name(cfg.veth_name, ipath + ".name"));

  auto ipv4 = iface->find("ipv4");
  if (ipv4 == iface->end() || !ipv4->is_object())
    return failf(Errc::invalid_argument, "{}.ipv4: required object", ipath);
  const std::string v4path = ipath + ".ipv4";
  RAIND_TRY_ASSIGN(std::string address_text, required_string(*ipv4, "address", v4path));
  auto address = parse_ipv4_cidr(address_text);
  if (!address) return std::unexpected(std::move(address.error()).context(v4path + ".address"));
  if (address->prefix == 0 || address->prefix > 30)
    return failf(Errc::invalid_argument, "{}.address: prefix /{} leaves no room for a gateway",
                 v4path, address->prefix);
  cfg.address = *address;
  RAIND_TRY_ASSIGN(std::string gateway_text, required_string(*ipv4, "gateway", v4path));
  auto gateway = parse_ipv4(gateway_text);
  if (!gateway) return std::unexpected(std::move(gateway.error()).context(v4path + ".gateway"));
  if (!cfg.address.contains(*gateway))
    return failf(Errc::invalid_argument, "{}.gateway: {} is outside {}", v4path, gateway_text,
                 address_text);
  if (*gateway == cfg.address.address)
    return failf(Errc::invalid_argument, "{}.gateway: equals the container address", v4path);
  cfg.gateway = *gateway;

  if (auto mtu = iface->find("mtu"); mtu != iface->end() && !mtu->is_null()) {
    if (!mtu->is_number_unsigned() || mtu->get<std::uint64_t>() < 68 ||
        mtu->get<std::uint64_t>() > 65535)
      return failf(Errc::invalid_argument, "{}.mtu: expected an integer in 68..65535", ipath);
    cfg.mtu = mtu->get<unsigned>();
  }
  if (auto mac = iface->find("mac"); mac != iface->end() && !mac->is_null()) {
    if (!mac->is_string()) return failf(Errc::invalid_argument, "{}.mac: expected string", ipath);
    auto parsed = parse_mac(mac->get<std::string>());
    if (!parsed) return std::unexpected(std::move(parsed.error()).context(ipath + ".mac"));
    cfg.mac = *parsed;
  } else {
    cfg.mac = mac_from_ipv4(cfg.address.address);
  }
  return cfg;
}

}  // namespace raind::droplet::net

#include "condenser/containers/port_spec.hpp"

#include <charconv>

#include <fmt/core.h>

#include "condenser/network/ipv4.hpp"

namespace raind::condenser::containers {
namespace {

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto pos = text.find(sep, start);
    parts.push_back(text.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return parts;
    start = pos + 1;
  }
}

Result<std::uint16_t> parse_port(std::string_view text, std::string_view spec,
                                 std::string_view which) {
  if (text.empty())
    return failf(Errc::invalid_argument, "port \"{}\": {} port is empty", spec, which);
  if (text.find('-') != std::string_view::npos)
    return failf(Errc::invalid_argument,
                 "port \"{}\": {} port \"{}\" is a range; ranges are not supported, publish each "
                 "port separately",
                 spec, which, text);
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size())
    return failf(Errc::invalid_argument, "port \"{}\": {} port \"{}\" is not a number", spec, which,
                 text);
  if (value == 0 || value > 65535)
    return failf(Errc::invalid_argument, "port \"{}\": {} port {} is outside 1..65535", spec, which,
                 value);
  return static_cast<std::uint16_t>(value);
}

Result<Protocol> parse_protocol(std::string_view text, std::string_view spec) {
  if (text == "tcp") return Protocol::tcp;
  if (text == "udp") return Protocol::udp;
  return failf(Errc::invalid_argument, "port \"{}\": unknown protocol \"{}\" (use tcp or udp)",
               spec, text);
}

bool is_protocol_word(std::string_view text) {
  return !text.empty() && (text.front() < '0' || text.front() > '9');
}

}  // namespace

std::string_view protocol_name(Protocol protocol) {
  return protocol == Protocol::udp ? "udp" : "tcp";
}

std::string PortSpec::to_string() const {
  return fmt::format("{}:{}->{}/{}", host_ip, host_port, container_port, protocol_name(protocol));
}

Result<PortSpec> parse_port_spec(std::string_view text) {
  if (text.empty()) return fail(Errc::invalid_argument, "port spec is empty");
  if (text.find('[') != std::string_view::npos)
    return failf(Errc::invalid_argument, "port \"{}\": IPv6 host addresses are not supported",
                 text);
  PortSpec spec;
  std::string_view body = text;
  bool slash_protocol = false;
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    RAIND_TRY_ASSIGN(spec.protocol, parse_protocol(text.substr(slash + 1), text));
    body = text.substr(0, slash);
    slash_protocol = true;
  }
  auto parts = split(body, ':');
  std::string_view host_port, container_port;
  if (parts.size() == 2) {
    host_port = parts[0];
    container_port = parts[1];
  } else if (parts.size() == 3 && is_protocol_word(parts[2])) {
    // The original form host:ctr:proto.
    if (slash_protocol)
      return failf(Errc::invalid_argument, "port \"{}\": protocol given twice", text);
    RAIND_TRY_ASSIGN(spec.protocol, parse_protocol(parts[2], text));
    host_port = parts[0];
    container_port = parts[1];
  } else if (parts.size() == 3) {
    auto ip = network::parse_ipv4(parts[0]);
    if (!ip)
      return failf(Errc::invalid_argument,
                   "port \"{}\": host address \"{}\" is not an IPv4 address", text, parts[0]);
    spec.host_ip = std::string(parts[0]);
    host_port = parts[1];
    container_port = parts[2];
  } else {
    return failf(Errc::invalid_argument,
                 "port \"{}\": expected host:ctr[/proto], ip:host:ctr[/proto] or host:ctr:proto",
                 text);
  }
  RAIND_TRY_ASSIGN(spec.host_port, parse_port(host_port, text, "host"));
  RAIND_TRY_ASSIGN(spec.container_port, parse_port(container_port, text, "container"));
  return spec;
}

bool ports_conflict(const PortSpec& a, const PortSpec& b) {
  if (a.protocol != b.protocol || a.host_port != b.host_port) return false;
  return a.host_ip == b.host_ip || a.host_ip == "0.0.0.0" || b.host_ip == "0.0.0.0";
}

Result<std::vector<PortSpec>> parse_port_specs(const std::vector<std::string>& texts) {
  std::vector<PortSpec> specs;
  for (const auto& text : texts) {
    RAIND_TRY_ASSIGN(PortSpec spec, parse_port_spec(text));
    for (const auto& other : specs)
      if (ports_conflict(spec, other))
        return failf(Errc::conflict, "port \"{}\": host port {}/{} is published twice", text,
                     spec.host_port, protocol_name(spec.protocol));
    specs.push_back(std::move(spec));
  }
  return specs;
}

}  // namespace raind::condenser::containers

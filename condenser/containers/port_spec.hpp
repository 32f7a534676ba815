#pragma once
// Published ports (`-p`). Accepted forms:
//   host:ctr            host:ctr/proto        (Docker style)
//   ip:host:ctr         ip:host:ctr/proto
//   host:ctr:proto      (the original Raind form)
// proto is tcp (default) or udp. Ports are 1..65535. Ranges ("8000-8010:80") are rejected with a
// message saying so: one rule per port keeps the RAIND-PUBLISH chain auditable.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "raind/error.hpp"

namespace raind::condenser::containers {

enum class Protocol { tcp, udp };
std::string_view protocol_name(Protocol protocol);

struct PortSpec {
  std::string host_ip = "0.0.0.0";  // 0.0.0.0 = every host address
  std::uint16_t host_port = 0;
  std::uint16_t container_port = 0;
  Protocol protocol = Protocol::tcp;

  std::string to_string() const;  // "0.0.0.0:8080->80/tcp", the listing form
  friend bool operator==(const PortSpec&, const PortSpec&) = default;
};

Result<PortSpec> parse_port_spec(std::string_view text);
// Two specs claim the same host socket (same protocol and port, same IP or either is 0.0.0.0).
bool ports_conflict(const PortSpec& a, const PortSpec& b);
// Parses every spec and rejects two that conflict with each other.
Result<std::vector<PortSpec>> parse_port_specs(const std::vector<std::string>& texts);

}  // namespace raind::condenser::containers

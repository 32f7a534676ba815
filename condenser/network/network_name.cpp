#include "condenser/network/network_name.hpp"

namespace raind::condenser::network {

Status validate_network_name(std::string_view name) {
  if (name.empty()) return fail(Errc::invalid_argument, "network name is empty");
  if (name.size() > kMaxInterfaceName)
    return failf(Errc::invalid_argument,
                 "network name \"{}\" is {} characters long; bridge names allow at most {}", name,
                 name.size(), kMaxInterfaceName);
  for (char c : name) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '_' || c == '.' || c == '-';
    if (!allowed)
      return failf(Errc::invalid_argument,
                   "network name \"{}\" contains an invalid character (allowed: a-z A-Z 0-9 _ . -)",
                   name);
  }
  if (name == "." || name == "..")
    return failf(Errc::invalid_argument, "network name \"{}\" is reserved", name);
  // A leading '-' would be read as an option by ip(8), tc(8) and iptables.
  if (name.front() == '-')
    return failf(Errc::invalid_argument, "network name \"{}\" must not start with '-'", name);
  if (name.starts_with(kVethPrefix))
    return failf(Errc::invalid_argument,
                 "network name \"{}\" must not start with \"{}\" (reserved for container veths)",
                 name, kVethPrefix);
  return ok();
}

}  // namespace raind::condenser::network

#include "condenser/containers/etc_files.hpp"

#include <fmt/core.h>

namespace raind::condenser::containers {

Status validate_hostname(std::string_view hostname) {
  if (hostname.empty()) return fail(Errc::invalid_argument, "hostname is empty");
  if (hostname.size() > 64)
    return failf(Errc::invalid_argument, "hostname \"{}\" is longer than 64 characters", hostname);
  std::size_t start = 0;
  while (start <= hostname.size()) {
    auto end = hostname.find('.', start);
    if (end == std::string_view::npos) end = hostname.size();
    std::string_view label = hostname.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return failf(Errc::invalid_argument, "hostname \"{}\" has an invalid label \"{}\"", hostname,
                   label);
    for (char c : label) {
      bool ok =
          (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
      if (!ok)
        return failf(Errc::invalid_argument,
                     "hostname \"{}\" contains an invalid character (allowed: a-z A-Z 0-9 - .)",
                     hostname);
    }
    start = end + 1;
  }
  return ok();
}

std::string hosts_file(std::string_view address, std::string_view hostname,
                       const std::vector<std::string>& aliases) {
  std::string out =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n";
  if (!address.empty()) {
    out += fmt::format("{}\t{}", address, hostname);
    for (const auto& alias : aliases)
      if (alias != hostname) out += fmt::format(" {}", alias);
    out += '\n';
  }
  return out;
}

std::string hostname_file(std::string_view hostname) {
  return fmt::format("{}\n", hostname);
}

std::string resolv_conf_file(const std::vector<std::string>& nameservers,
                             const std::vector<std::string>& search) {
  std::string out;
  if (!search.empty()) {
    out += "search";
    for (const auto& domain : search) out += fmt::format(" {}", domain);
    out += '\n';
  }
  for (const auto& server : nameservers) out += fmt::format("nameserver {}\n", server);
  return out;
}

}  // namespace raind::condenser::containers

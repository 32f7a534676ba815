#pragma once
// Contents of the files condenserd bind-mounts over the image's /etc/hosts, /etc/hostname and
// /etc/resolv.conf. The container's resolver points at its bridge gateway, where DNS is
// redirected to Raind's DNS proxy.
#include <string>
#include <string_view>
#include <vector>

#include "raind/error.hpp"

namespace raind::condenser::containers {

// RFC 1123 host name: labels of [a-zA-Z0-9-], not starting or ending with '-', at most 63
// characters each and 64 in all (the kernel's limit for sethostname).
Status validate_hostname(std::string_view hostname);

// localhost entries for IPv4 and IPv6, then "<address>\t<hostname> [aliases…]" when the
// container has an address.
std::string hosts_file(std::string_view address, std::string_view hostname,
                       const std::vector<std::string>& aliases = {});
std::string hostname_file(std::string_view hostname);
std::string resolv_conf_file(const std::vector<std::string>& nameservers,
                             const std::vector<std::string>& search = {});

}  // namespace raind::condenser::containers

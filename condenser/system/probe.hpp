#pragma once
// Host facts reported by GET /v1/system/info. The parsers are pure; probe_host() reads the real
// files once at start-up (iptables --version is an exec, too slow for every request).
#include <filesystem>
#include <string>
#include <string_view>

namespace raind::condenser::system {

struct HostFacts {
  std::string cgroup_mode;       // v1 | v2 | hybrid | none
  std::string iptables_backend;  // nf_tables | legacy | unavailable | unknown
  std::string iptables_version;
  bool apparmor = false;
  std::string kernel;
};

// From /proc/self/mountinfo: cgroup2 at /sys/fs/cgroup → v2; v1 controllers plus a cgroup2
// mount elsewhere → hybrid; v1 only → v1.
std::string cgroup_mode_from_mountinfo(std::string_view mountinfo);
// From `iptables --version`, e.g. "iptables v1.8.9 (nf_tables)".
std::string iptables_backend_from_version(std::string_view output);
// /sys/module/apparmor/parameters/enabled holds "Y" when AppArmor is enabled.
bool apparmor_from_enabled(std::string_view content);

struct ProbeRoots {
  std::filesystem::path mountinfo = "/proc/self/mountinfo";
  std::filesystem::path apparmor_enabled = "/sys/module/apparmor/parameters/enabled";
};
HostFacts probe_host(const ProbeRoots& roots = {});

}  // namespace raind::condenser::system

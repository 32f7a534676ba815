#include "condenser/system/probe.hpp"

#include <sys/utsname.h>

#include <sstream>

#include "raind/sys/files.hpp"
#include "raind/sys/process.hpp"

namespace raind::condenser::system {

std::string cgroup_mode_from_mountinfo(std::string_view mountinfo) {
  bool v1 = false, v2_root = false, v2_other = false;
  std::istringstream in{std::string(mountinfo)};
  std::string line;
  while (std::getline(in, line)) {
    // fields: id parent major:minor root mountpoint options [optional...] - fstype source super
    std::istringstream fields(line);
    std::string id, parent, dev, root, mountpoint;
    fields >> id >> parent >> dev >> root >> mountpoint;
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail(line.substr(dash + 3));
    std::string fstype;
    tail >> fstype;
    if (fstype == "cgroup2") {
      (mountpoint == "/sys/fs/cgroup" ? v2_root : v2_other) = true;
    } else if (fstype == "cgroup") {
      v1 = true;
    }
  }
  if (v2_root && !v1) return "v2";
  if (v1 && (v2_root || v2_other)) return "hybrid";
  if (v1) return "v1";
  if (v2_other) return "v2";
  return "none";
}

std::string iptables_backend_from_version(std::string_view output) {
  if (output.find("nf_tables") != std::string_view::npos) return "nf_tables";
  if (output.find("legacy") != std::string_view::npos) return "legacy";
  return "unknown";
}

bool apparmor_from_enabled(std::string_view content) {
  return !content.empty() && (content.front() == 'Y' || content.front() == 'y');
}

HostFacts probe_host(const ProbeRoots& roots) {
  HostFacts facts;
  auto mountinfo = sys::read_file(roots.mountinfo);
  facts.cgroup_mode = mountinfo ? cgroup_mode_from_mountinfo(*mountinfo) : "unknown";
  sys::RunOptions options;
  options.timeout = std::chrono::milliseconds(5000);
  auto ipt = sys::run({"iptables", "--version"}, options);
  if (ipt && ipt->status.exited() && ipt->status.code == 0) {
    std::string out = ipt->out;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    facts.iptables_version = out;
    facts.iptables_backend = iptables_backend_from_version(out);
  } else {
    facts.iptables_backend = "unavailable";
  }
  auto aa = sys::read_file(roots.apparmor_enabled);
  facts.apparmor = aa && apparmor_from_enabled(*aa);
  struct utsname u {};
  if (uname(&u) == 0) facts.kernel = u.release;
  return facts;
}

}  // namespace raind::condenser::system

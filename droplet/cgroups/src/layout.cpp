// Host probing: which cgroup hierarchies are mounted where, and where the caller sits in each.
#include <sstream>

#include <fmt/format.h>

#include "cgroups_internal.hpp"
#include "raind/cgroups/manager.hpp"
#include "raind/sys/files.hpp"

namespace raind::cgroups {

std::vector<MountEntry> parse_cgroup_mounts(std::string_view mountinfo) {
  std::vector<MountEntry> out;
  std::istringstream in{std::string(mountinfo)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::vector<std::string> parts;
    for (std::string f; fields >> f;) parts.push_back(f);
    auto dash = std::find(parts.begin(), parts.end(), "-");
    if (dash == parts.end() || parts.size() < 5 || std::distance(dash, parts.end()) < 4) continue;
    const std::string& fstype = *(dash + 1);
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    MountEntry entry;
    entry.mountpoint = parts[4];
    entry.root = parts[3];
    entry.v2 = fstype == "cgroup2";
    std::string superopts = *(dash + 3);
    std::istringstream opts(superopts);
    for (std::string opt; std::getline(opts, opt, ',');) {
      if (opt == "rw" || opt == "ro" || opt.starts_with("name=") || opt == "clone_children" ||
          opt == "xattr" || opt == "noprefix" || opt.starts_with("release_agent") ||
          opt == "nsdelegate" || opt == "memory_recursiveprot" || opt == "favordynmods" ||
          opt == "cpuset_v2_mode" || opt == "relatime")
        continue;
      entry.controllers.push_back(opt);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::map<std::string, std::string> parse_proc_cgroup(std::string_view text) {
  std::map<std::string, std::string> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    std::string path = line.substr(second + 1);
    if (controllers.empty()) {
      out[""] = path;  // the unified hierarchy
      continue;
    }
    std::istringstream list(controllers);
    for (std::string c; std::getline(list, c, ',');) {
      if (c.starts_with("name=")) continue;
      out[c] = path;
    }
  }
  return out;
}

Result<HostLayout> layout_from_text(std::string_view mountinfo, std::string_view proc_cgroup,
                                    std::string_view unified_controllers) {
  HostLayout layout;
  layout.self_paths = parse_proc_cgroup(proc_cgroup);
  bool have_v1_resources = false;
  for (const auto& m : parse_cgroup_mounts(mountinfo)) {
    if (m.v2) {
      if (layout.unified_mount.empty()) layout.unified_mount = m.mountpoint;
      continue;
    }
    for (const auto& c : m.controllers) {
      // The first mount of a hierarchy wins; bind mounts of the same one are duplicates.
      if (!layout.v1_mounts.contains(c)) layout.v1_mounts[c] = m.mountpoint;
      if (c == "memory" || c == "pids" || c == "cpu") have_v1_resources = true;
    }
  }
  if (have_v1_resources) {
    layout.version = Version::v1;
  } else if (!layout.unified_mount.empty()) {
    layout.version = Version::v2;
    (void)unified_controllers;
  } else {
    return fail(Errc::unsupported, "no cgroup hierarchy is mounted (checked mountinfo)");
  }
  return layout;
}

Result<HostLayout> detect_host_layout(const std::filesystem::path& proc_self) {
  RAIND_TRY_ASSIGN(std::string mountinfo, sys::read_file(proc_self / "mountinfo"));
  RAIND_TRY_ASSIGN(std::string self_cgroup, sys::read_file(proc_self / "cgroup"));
  return layout_from_text(mountinfo, self_cgroup, "");
}

}  // namespace raind::cgroups

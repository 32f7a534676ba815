#pragma once
// Internals shared by the cgroup backends; pure helpers are declared here for unit tests.
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "raind/cgroups/manager.hpp"

namespace raind::cgroups {

struct MountEntry {
  std::string mountpoint;
  std::string root;
  bool v2 = false;
  std::vector<std::string> controllers;
};

std::vector<MountEntry> parse_cgroup_mounts(std::string_view mountinfo);
// controller -> own path; "" is the unified hierarchy.
std::map<std::string, std::string> parse_proc_cgroup(std::string_view text);
Result<HostLayout> layout_from_text(std::string_view mountinfo, std::string_view proc_cgroup,
                                    std::string_view unified_controllers);

// Resolves OCI cgroupsPath to a path relative to a hierarchy root, given the caller's own path
// in that hierarchy. Rejects ".." components.
Result<std::string> resolve_cgroup_path(const std::string& cgroups_path,
                                        const std::string& own_path,
                                        const std::string& container_id);

// Flat "key value" files (memory.stat, cpu.stat, pids.events …).
std::map<std::string, std::uint64_t> parse_flat_keyed(std::string_view text);
std::uint64_t parse_u64_or_max(std::string_view text, std::uint64_t max_value = 0);

Result<std::unique_ptr<Manager>> make_v1_manager(std::map<std::string, std::filesystem::path> dirs);
Result<std::unique_ptr<Manager>> make_v2_manager(std::filesystem::path dir);

}  // namespace raind::cgroups

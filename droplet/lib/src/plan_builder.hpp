#pragma once
#include <filesystem>

#include "plan.hpp"
#include "raind/error.hpp"

namespace raind::droplet {

struct PlanOptions {
  std::string id;
  std::filesystem::path bundle;
  bool no_pivot = false;
  int preserve_fds = 0;
  bool cgroup_v1 = false;  // "cgroup" mounts become tmpfs + per-hierarchy binds
};

Result<ProcessPlan> build_process_plan(const oci::Process& process, int preserve_fds);
Result<InitPlan> build_init_plan(const oci::Spec& spec, const PlanOptions& options);

// /proc/sys path for a linux.sysctl key, or an error when the key is not owned by one of the
// container's private namespaces.
Result<std::string> namespaced_sysctl_path(std::string_view key, bool private_net, bool private_ipc,
                                           bool private_uts);
void close_plan_fds(InitPlan& plan);

}  // namespace raind::droplet

#pragma once
// cgroup v2 has no devices.allow/deny files: device access is decided by an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup. compile_device_filter() turns OCI device
// rules into that program (pure, unit-tested); attach_device_filter() loads and attaches it.
#include <linux/bpf.h>

#include <filesystem>
#include <vector>

#include "raind/cgroups/manager.hpp"

namespace raind::cgroups {

// Later rules override earlier ones (OCI semantics), so the program tests rules from last to
// first and returns the verdict of the first match; no match denies.
std::vector<bpf_insn> compile_device_filter(const std::vector<DeviceRule>& rules);

// Loads the program and attaches it to the cgroup directory (BPF_F_ALLOW_MULTI).
Status attach_device_filter(const std::filesystem::path& cgroup_dir,
                            const std::vector<bpf_insn>& program);

}  // namespace raind::cgroups

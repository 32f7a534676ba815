#pragma once
// OCI hooks: the state JSON on stdin, the hook's own env exactly, `timeout` enforced with
// SIGKILL, and the last KiB of its output quoted in errors.
#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "raind/error.hpp"
#include "raind/oci/runtime_spec.hpp"

namespace raind::droplet {

// Runs one hook. enter_ns_of > 0: the hook runs in that process's namespaces (createContainer).
// phase names the hook in the audit log.
Status run_hook(const oci::Hook& hook, std::string_view state_json, pid_t enter_ns_of = 0,
                std::string_view phase = "hook");

// Runs hooks in order and stops at the first failure: "<phase> hook <path>: ...".
Status run_hooks(const std::vector<oci::Hook>& hooks, std::string_view state_json,
                 std::string_view phase, pid_t enter_ns_of = 0);

// Same, but a failure is only logged as a warning (poststart, poststop, stopContainer).
void run_hooks_warn(const std::vector<oci::Hook>& hooks, std::string_view state_json,
                    std::string_view phase);

}  // namespace raind::droplet

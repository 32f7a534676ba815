#pragma once
// Call sites of the security library (raind_droplet_security) inside the container init and
// exec children.
#include <string>

#include "plan.hpp"
#include "raind/droplet/security.hpp"

namespace raind::droplet::security {

// {in_user_namespace, container_id, bundle, annotations}
using Context = SecurityContext;

// Parent side, before clone: resolve capabilities and rlimits, compile the seccomp filter,
// connect to a seccomp listener. Warnings (e.g. AppArmor unavailable) are logged here.
Status prepare(ProcessPlan& proc, const oci::Spec& spec, const Context& context);
// Child, still fully privileged, before the exec.fifo wait: rlimits, oom_score_adj.
void before_fifo(ProcessPlan& proc, int sync_fd, InitPlan& plan);
// Child, after the fifo and startContainer hooks: user/groups/umask, capabilities,
// no_new_privs, AppArmor (and seccomp first when no_new_privs is off: loading a filter
// without it needs CAP_SYS_ADMIN, which the capability drop may remove).
void before_exec(ProcessPlan& proc, InitPlan& plan);
// Child, immediately before execve: seccomp (when no_new_privs is on).
void last_before_exec(ProcessPlan& proc, InitPlan& plan);

}  // namespace raind::droplet::security

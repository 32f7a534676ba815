#pragma once
// Process security for the container init and `exec`: rlimits, oom_score_adj, user/groups/umask,
// the five capability sets, no_new_privs, AppArmor and seccomp.
//
// prepare_process_security() runs in the parent before clone(): it validates the spec (errors
// name the capability, rlimit, syscall or action), resolves names, and compiles the seccomp
// filter to BPF. The apply_* functions run in the child between clone and execve: they never
// allocate or throw; on failure they return false and fill ChildFailure.
#include <linux/filter.h>
#include <sys/resource.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "raind/error.hpp"
#include "raind/oci/runtime_spec.hpp"
#include "raind/unique_fd.hpp"

namespace raind::droplet {

struct ChildFailure {
  const char* stage = "";
  int err = 0;
  char message[256] = {0};
};

struct PreparedProcessSecurity {
  // Capabilities (bit masks), applied only when the spec has a capabilities object.
  bool manage_caps = false;
  std::uint64_t bounding = 0, effective = 0, permitted = 0, inheritable = 0, ambient = 0;
  unsigned last_cap = 40;

  struct Limit {
    int resource = 0;
    rlimit value{};
    const char* name = "";
  };
  std::vector<Limit> rlimits;
  std::string oom_score_adj;  // empty: leave unchanged

  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
  bool set_groups = true;  // false when setgroups is denied in the user namespace
  std::optional<mode_t> umask;

  bool no_new_privs = false;

  std::string apparmor_profile;  // empty: none requested, or unavailable (see warnings)
  std::string apparmor_exec;     // "exec <profile>" ready for /proc/self/attr/exec

  bool has_seccomp = false;
  std::vector<sock_filter> seccomp_filter;
  unsigned seccomp_flags = 0;    // SECCOMP_FILTER_FLAG_*
  bool seccomp_notify = false;   // the filter has SCMP_ACT_NOTIFY rules
  UniqueFd listener;             // connected to linux.seccomp.listenerPath
  std::string listener_payload;  // ContainerProcessState JSON with a pid slot
  std::size_t listener_pid_offset = 0;

  std::vector<std::string> warnings;  // for the parent to log (AppArmor unavailable, …)
};

struct SecurityContext {
  bool in_user_namespace = false;  // container created a user namespace
  std::string container_id;
  std::string bundle;
  std::map<std::string, std::string> annotations;
};

Result<PreparedProcessSecurity> prepare_process_security(const oci::Spec& spec,
                                                         const oci::Process& process,
                                                         const SecurityContext& context);

// Compiles linux.seccomp to classic BPF (exposed for tests and `features`).
Result<std::vector<sock_filter>> compile_seccomp(const oci::Seccomp& seccomp, bool* has_notify);
// Capability name ("CAP_KILL" or "kill") to number, or an error naming it.
Result<unsigned> capability_number(const std::string& name);
Result<int> rlimit_number(const std::string& name);

// ---- child side (no allocation, no exceptions) ----
bool apply_rlimits(const PreparedProcessSecurity& s, ChildFailure* f) noexcept;
bool apply_oom_score_adj(const PreparedProcessSecurity& s, ChildFailure* f) noexcept;
// Groups, gid, uid (keeping capabilities across the uid switch), umask, then the capability
// sets: bounding drop, capset(effective, permitted, inheritable), ambient raise.
bool apply_user_and_capabilities(const PreparedProcessSecurity& s, ChildFailure* f) noexcept;
bool apply_no_new_privs(const PreparedProcessSecurity& s, ChildFailure* f) noexcept;
bool apply_apparmor(const PreparedProcessSecurity& s, ChildFailure* f) noexcept;
// Loads the filter. With a notify listener, sends the listener fd and the state to
// listenerPath (SCM_RIGHTS) and closes both.
bool apply_seccomp(PreparedProcessSecurity& s, ChildFailure* f) noexcept;

// Whether seccomp must be loaded before capabilities are dropped: without no_new_privs the
// kernel requires CAP_SYS_ADMIN to install a filter.
inline bool seccomp_before_caps(const PreparedProcessSecurity& s) {
  return s.has_seccomp && !s.no_new_privs;
}

}  // namespace raind::droplet

#include "security_bridge.hpp"

#include <fmt/format.h>

#include "child.hpp"
#include "raind/droplet/security.hpp"
#include "raind/log.hpp"

namespace raind::droplet::security {
namespace {

[[noreturn]] void die_with(const InitPlan& plan, const ChildFailure& f) {
  child::die(plan, f.stage, f.err, "%s", f.message);
}

}  // namespace

Status prepare(ProcessPlan& proc, const oci::Spec& spec, const Context& context) {
  auto prepared = prepare_process_security(spec, proc.process, context);
  if (!prepared) return std::unexpected(std::move(prepared.error()));
  for (const auto& warning : prepared->warnings) logger("droplet.security")->warn("{}", warning);
  // In a user namespace whose setgroups is denied, leave the (empty) group list alone.
  prepared->set_groups = true;
  proc.security = std::make_shared<PreparedProcessSecurity>(std::move(*prepared));
  return ok();
}

void before_fifo(ProcessPlan& proc, int, InitPlan& plan) {
  ChildFailure f;
  if (!apply_rlimits(*proc.security, &f)) die_with(plan, f);
  if (!apply_oom_score_adj(*proc.security, &f)) die_with(plan, f);
}

void before_exec(ProcessPlan& proc, InitPlan& plan) {
  ChildFailure f;
  PreparedProcessSecurity& s = *proc.security;
  if (seccomp_before_caps(s) && !apply_seccomp(s, &f)) die_with(plan, f);
  if (!apply_user_and_capabilities(s, &f)) die_with(plan, f);
  if (!apply_no_new_privs(s, &f)) die_with(plan, f);
  if (!apply_apparmor(s, &f)) die_with(plan, f);
}

void last_before_exec(ProcessPlan& proc, InitPlan& plan) {
  ChildFailure f;
  PreparedProcessSecurity& s = *proc.security;
  if (!seccomp_before_caps(s) && !apply_seccomp(s, &f)) die_with(plan, f);
}

}  // namespace raind::droplet::security

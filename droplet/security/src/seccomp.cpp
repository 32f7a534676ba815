// linux.seccomp → classic BPF, compiled with libseccomp in the parent.
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <unistd.h>

#include <map>
#include <memory>

#include <fmt/format.h>

#include "raind/droplet/security.hpp"
#include "raind/log.hpp"
#include "raind/unique_fd.hpp"

namespace raind::droplet {
namespace {

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using Ctx = std::unique_ptr<void, CtxDeleter>;

Result<std::uint32_t> action_value(const std::string& name, std::optional<unsigned> errno_ret,
                                   unsigned default_errno) {
  unsigned err = errno_ret.value_or(default_errno);
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(err);
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(err);
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  if (name == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
  return failf(Errc::invalid_argument, "linux.seccomp: unknown action {:?}", name);
}

Result<std::uint32_t> arch_value(const std::string& name) {
  static const std::map<std::string, std::uint32_t> kArchs = {
      {"SCMP_ARCH_X86", SCMP_ARCH_X86},
      {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64},
      {"SCMP_ARCH_X32", SCMP_ARCH_X32},
      {"SCMP_ARCH_ARM", SCMP_ARCH_ARM},
      {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64},
      {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS},
      {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64},
      {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32},
      {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL},
      {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64},
      {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32},
      {"SCMP_ARCH_PPC", SCMP_ARCH_PPC},
      {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64},
      {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE},
      {"SCMP_ARCH_S390", SCMP_ARCH_S390},
      {"SCMP_ARCH_S390X", SCMP_ARCH_S390X},
      {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC},
      {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64},
      {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64},
  };
  auto it = kArchs.find(name);
  if (it == kArchs.end())
    return failf(Errc::invalid_argument, "linux.seccomp: unknown architecture {:?}", name);
  return it->second;
}

Result<scmp_compare> op_value(const std::string& name) {
  if (name == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (name == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (name == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (name == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (name == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (name == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (name == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  return failf(Errc::invalid_argument, "linux.seccomp: unknown operator {:?}", name);
}

}  // namespace

Result<std::vector<sock_filter>> compile_seccomp(const oci::Seccomp& spec, bool* has_notify) {
  auto log = logger("droplet.seccomp");
  const unsigned default_errno = spec.default_errno_ret.value_or(EPERM);
  if (spec.default_action.empty())
    return fail(Errc::invalid_argument, "linux.seccomp.defaultAction: required");
  RAIND_TRY_ASSIGN(std::uint32_t default_action,
                   action_value(spec.default_action, spec.default_errno_ret, EPERM));
  if (default_action == SCMP_ACT_NOTIFY)
    return fail(Errc::invalid_argument,
                "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default");
  Ctx ctx(seccomp_init(default_action));
  if (!ctx) return fail(Errc::system, "linux.seccomp: seccomp_init failed");
  // no_new_privs is the runtime's decision (process.noNewPrivileges), not libseccomp's.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_NNP, 0);
  // Syscalls of a listed architecture that the filter does not name get the default action;
  // syscalls of an unlisted architecture are killed.
  seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  for (const auto& arch_name : spec.architectures) {
    RAIND_TRY_ASSIGN(std::uint32_t arch, arch_value(arch_name));
    int rc = seccomp_arch_add(ctx.get(), arch);
    if (rc != 0 && rc != -EEXIST)
      return failf(Errc::invalid_argument, "linux.seccomp: cannot add architecture {}: {}",
                   arch_name, strerror(-rc));
  }
  for (const auto& flag : spec.flags) {
    if (flag != "SECCOMP_FILTER_FLAG_LOG" && flag != "SECCOMP_FILTER_FLAG_SPEC_ALLOW" &&
        flag != "SECCOMP_FILTER_FLAG_TSYNC" && flag != "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV")
      return failf(Errc::invalid_argument, "linux.seccomp.flags: unknown flag {:?}", flag);
  }

  bool notify = false;
  for (std::size_t i = 0; i < spec.syscalls.size(); ++i) {
    const auto& rule = spec.syscalls[i];
    RAIND_TRY_ASSIGN(std::uint32_t action,
                     action_value(rule.action, rule.errno_ret, default_errno));
    if (action == SCMP_ACT_NOTIFY) notify = true;
    if (action == default_action) continue;  // libseccomp rejects rules equal to the default
    std::vector<scmp_arg_cmp> conds;
    std::map<unsigned, int> per_index;
    for (const auto& a : rule.args) {
      if (a.index > 5)
        return failf(Errc::invalid_argument, "linux.seccomp.syscalls[{}]: argument index {} > 5", i,
                     a.index);
      RAIND_TRY_ASSIGN(scmp_compare op, op_value(a.op));
      conds.push_back(SCMP_CMP(a.index, op, a.value, a.value_two));
      ++per_index[a.index];
    }
    // Several conditions on one argument cannot be ANDed by libseccomp: like runc, each becomes
    // a rule of its own (so they are ORed).
    bool split =
        std::any_of(per_index.begin(), per_index.end(), [](auto& p) { return p.second > 1; });
    for (const auto& name : rule.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) {
        log->debug("seccomp: unknown syscall {} skipped", name);
        continue;
      }
      auto add = [&](unsigned count, const scmp_arg_cmp* args) -> Status {
        int rc = seccomp_rule_add_array(ctx.get(), action, nr, count, args);
        if (rc != 0)
          return failf(Errc::invalid_argument, "linux.seccomp.syscalls[{}]: {} with {}: {}", i,
                       name, rule.action, strerror(-rc));
        return ok();
      };
      if (split) {
        for (const auto& c : conds) RAIND_TRY(add(1, &c));
      } else {
        RAIND_TRY(add(static_cast<unsigned>(conds.size()), conds.data()));
      }
    }
  }

  UniqueFd mem(memfd_create("raind-seccomp", MFD_CLOEXEC));
  if (!mem) return fail_errno("memfd_create for the seccomp filter");
  if (int rc = seccomp_export_bpf(ctx.get(), mem.get()); rc != 0)
    return failf(Errc::system, "linux.seccomp: export BPF: {}", strerror(-rc));
  off_t size = lseek(mem.get(), 0, SEEK_END);
  if (size <= 0 || size % sizeof(sock_filter) != 0)
    return failf(Errc::system, "linux.seccomp: exported filter has odd size {}", size);
  std::vector<sock_filter> filter(static_cast<std::size_t>(size) / sizeof(sock_filter));
  if (pread(mem.get(), filter.data(), static_cast<std::size_t>(size), 0) != size)
    return fail_errno("read back the seccomp filter");
  if (has_notify) *has_notify = notify;
  return filter;
}

}  // namespace raind::droplet

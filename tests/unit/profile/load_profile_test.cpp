// The shipped policies/ directory loads and says what the issue asks for: default EPERM,
// x32 left out, dangerous syscalls absent from every allow rule, clone filtered, clone3 ENOSYS,
// the 14 default capabilities and the raind-default AppArmor profile.
#include <algorithm>
#include <filesystem>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "raind/oci/security_profile.hpp"
#include "raind/sys/files.hpp"
#include "raind/sys/process.hpp"

namespace raind::oci {
namespace {

std::filesystem::path policies_dir() {
  return std::filesystem::path(RAIND_SOURCE_DIR) / "policies";
}

SecurityProfile load_repo_profile() {
  auto profile = load_security_profile(policies_dir());
  EXPECT_TRUE(profile) << profile.error().what();
  return profile ? *profile : SecurityProfile{};
}

// Names allowed without argument conditions.
std::set<std::string> unconditional_allows(const Seccomp& s) {
  std::set<std::string> out;
  for (const auto& rule : s.syscalls)
    if (rule.action == "SCMP_ACT_ALLOW" && rule.args.empty())
      out.insert(rule.names.begin(), rule.names.end());
  return out;
}

TEST(DefaultProfile, SeccompDefaultsToEpermOnFourArchitecturesWithoutX32) {
  auto p = load_repo_profile();
  EXPECT_EQ(p.seccomp.default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(p.seccomp.default_errno_ret, 1u);
  EXPECT_EQ(p.seccomp.architectures,
            (std::vector<std::string>{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64",
                                      "SCMP_ARCH_ARM"}));
}

TEST(DefaultProfile, AllowsWhatOrdinaryProgramsNeed) {
  auto allowed = unconditional_allows(load_repo_profile().seccomp);
  for (const char* name :
       {"read",       "write",      "openat",          "close", "execve",    "mmap",
        "brk",        "futex",      "wait4",           "pipe2", "dup2",      "rt_sigaction",
        "exit_group", "getdents64", "newfstatat",      "statx", "socket",    "connect",
        "fork",       "vfork",      "set_robust_list", "rseq",  "prlimit64", "chroot"})
    EXPECT_TRUE(allowed.count(name)) << name << " should be allowed";
}

TEST(DefaultProfile, NeverAllowsDangerousSyscalls) {
  auto p = load_repo_profile();
  const std::set<std::string> forbidden = {"keyctl",
                                           "add_key",
                                           "request_key",
                                           "bpf",
                                           "mount",
                                           "umount",
                                           "umount2",
                                           "unshare",
                                           "setns",
                                           "kexec_load",
                                           "kexec_file_load",
                                           "init_module",
                                           "finit_module",
                                           "delete_module",
                                           "pivot_root",
                                           "swapon",
                                           "swapoff",
                                           "reboot",
                                           "ptrace",
                                           "open_by_handle_at",
                                           "perf_event_open",
                                           "userfaultfd",
                                           "acct",
                                           "settimeofday",
                                           "clock_settime",
                                           "clock_settime64",
                                           "stime",
                                           "lookup_dcookie",
                                           "quotactl",
                                           "clone3",
                                           "fsopen",
                                           "fsmount",
                                           "move_mount",
                                           "open_tree",
                                           "io_uring_setup",
                                           "process_vm_writev",
                                           "iopl",
                                           "ioperm",
                                           "syslog"};
  for (const auto& rule : p.seccomp.syscalls) {
    if (rule.action != "SCMP_ACT_ALLOW") continue;
    for (const auto& name : rule.names) EXPECT_FALSE(forbidden.count(name)) << name;
  }
}

TEST(DefaultProfile, CloneOnlyWithoutNamespaceFlagsAndClone3Enosys) {
  auto p = load_repo_profile();
  bool clone_seen = false, clone3_seen = false;
  for (const auto& rule : p.seccomp.syscalls) {
    auto names = rule.names;
    if (std::find(names.begin(), names.end(), "clone") != names.end()) {
      clone_seen = true;
      EXPECT_EQ(names.size(), 1u);
      EXPECT_EQ(rule.action, "SCMP_ACT_ALLOW");
      ASSERT_EQ(rule.args.size(), 1u);
      EXPECT_EQ(rule.args[0].index, 0u);
      EXPECT_EQ(rule.args[0].op, "SCMP_CMP_MASKED_EQ");
      EXPECT_EQ(rule.args[0].value, 0x7E020000u);  // every CLONE_NEW* that clone() can carry
      EXPECT_EQ(rule.args[0].value_two, 0u);
    }
    if (std::find(names.begin(), names.end(), "clone3") != names.end()) {
      clone3_seen = true;
      EXPECT_EQ(rule.action, "SCMP_ACT_ERRNO");
      EXPECT_EQ(rule.errno_ret, 38u);  // ENOSYS: libc falls back to clone
    }
  }
  EXPECT_TRUE(clone_seen);
  EXPECT_TRUE(clone3_seen);
}

TEST(DefaultProfile, PersonalityOnlyWithStandardDomains) {
  auto p = load_repo_profile();
  std::set<std::uint64_t> values;
  for (const auto& rule : p.seccomp.syscalls) {
    if (std::find(rule.names.begin(), rule.names.end(), "personality") == rule.names.end())
      continue;
    ASSERT_EQ(rule.args.size(), 1u);
    EXPECT_EQ(rule.args[0].op, "SCMP_CMP_EQ");
    values.insert(rule.args[0].value);
  }
  EXPECT_EQ(values, (std::set<std::uint64_t>{0x0, 0x8, 0x20000, 0x20008, 0xffffffff}));
}

TEST(DefaultProfile, FourteenDefaultCapabilities) {
  auto p = load_repo_profile();
  std::set<std::string> caps(p.capabilities.begin(), p.capabilities.end());
  EXPECT_EQ(caps, (std::set<std::string>{
                      "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
                      "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
                      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE"}));
  EXPECT_EQ(p.capabilities.size(), 14u);
}

TEST(DefaultProfile, AppArmorProfileIsNamedRaindDefault) {
  EXPECT_EQ(load_repo_profile().apparmor_profile, "raind-default");
}

// The profile compiles with the real parser (-Q: no kernel load, -K: no cache), so a syntax
// error is caught even on hosts without AppArmor.
TEST(DefaultProfile, AppArmorProfileCompiles) {
  if (!sys::exists("/sbin/apparmor_parser") && !sys::exists("/usr/sbin/apparmor_parser"))
    GTEST_SKIP() << "apparmor_parser not installed";
  auto parser =
      sys::exists("/sbin/apparmor_parser") ? "/sbin/apparmor_parser" : "/usr/sbin/apparmor_parser";
  auto run = sys::run({parser, "-Q", "-K", (policies_dir() / kAppArmorPolicyFile).string()});
  ASSERT_TRUE(run) << run.error().what();
  EXPECT_EQ(run->status.shell_code(), 0) << run->err;
}

TEST(DefaultProfile, AppArmorLoadIsSkippedWithoutKernelSupport) {
  bool loaded = true;
  auto status = load_apparmor_profile(policies_dir() / kAppArmorPolicyFile, &loaded,
                                      "/nonexistent/raind-test/apparmor");
  ASSERT_TRUE(status) << status.error().what();
  EXPECT_FALSE(loaded);
}

TEST(DefaultProfile, AppArmorLoadFailureNamesTheFile) {
  // securityfs "present" (an existing dir) but the profile file missing: apparmor_parser runs
  // and fails whatever the host's AppArmor state.
  bool loaded = true;
  auto missing = std::filesystem::temp_directory_path() / "raind-no-such-profile";
  auto status = load_apparmor_profile(missing, &loaded, std::filesystem::temp_directory_path());
  ASSERT_FALSE(status);
  EXPECT_FALSE(loaded);
  EXPECT_NE(status.error().what().find(missing.string()), std::string::npos)
      << status.error().what();
}

}  // namespace
}  // namespace raind::oci

// `droplet features`: what this build supports, in the OCI features document shape.
#include <seccomp.h>

#include "raind/droplet/runtime.hpp"
#include "raind/oci/capability_names.hpp"

namespace raind::droplet {

nlohmann::json features_document() {
  using nlohmann::json;
  json caps = json::array();

  for (auto c : oci::kCapabilityNames) caps.push_back(std::string(c));
  json mount_options = json::array();
  for (auto o : {"async",       "atime",     "bind",       "defaults",      "dev",
                 "diratime",    "dirsync",   "exec",       "lazytime",      "loud",
                 "mand",        "noatime",   "nodev",      "nodiratime",    "noexec",
                 "nolazytime",  "nomand",    "norelatime", "nostrictatime", "nosuid",
                 "nosymfollow", "private",   "rbind",      "relatime",      "remount",
                 "ro",          "rprivate",  "rshared",    "rslave",        "runbindable",
                 "rw",          "shared",    "silent",     "slave",         "strictatime",
                 "suid",        "symfollow", "sync",       "unbindable"})
    mount_options.push_back(o);
  const auto* ver = seccomp_version();
  return json{
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.2.0"},
      {"hooks",
       {"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"}},
      {"mountOptions", mount_options},
      {"linux",
       {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "time", "user", "uts"}},
        {"capabilities", caps},
        {"cgroup",
         {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false}, {"rdma", false}}},
        {"seccomp",
         {{"enabled", true},
          {"actions",
           {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_PROCESS",
            "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG", "SCMP_ACT_NOTIFY", "SCMP_ACT_TRACE",
            "SCMP_ACT_TRAP"}},
          {"operators",
           {"SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_LE", "SCMP_CMP_LT",
            "SCMP_CMP_MASKED_EQ", "SCMP_CMP_NE"}},
          {"archs",
           {"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM", "SCMP_ARCH_X32", "SCMP_ARCH_X86",
            "SCMP_ARCH_X86_64", "SCMP_ARCH_RISCV64", "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390X"}},
          {"knownFlags",
           {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}},
          {"supportedFlags",
           {"SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW"}}}},
        {"apparmor", {{"enabled", true}}},
        {"selinux", {{"enabled", false}}},
        {"intelRdt", {{"enabled", false}}},
        {"mountExtensions", {{"idmap", {{"enabled", false}}}}}}},
      {"annotations",
       {{"org.opencontainers.runc.checkpoint.enabled", "false"},
        {"io.github.seccomp.libseccomp.version", std::to_string(ver->major) + "." +
                                                     std::to_string(ver->minor) + "." +
                                                     std::to_string(ver->micro)}}}};
}

}  // namespace raind::droplet

// Preparation (parent) and application (child) of process security settings.
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sys/apparmor.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/capability.h>

#include "raind/droplet/security.hpp"
#include "raind/sys/files.hpp"

namespace raind::droplet {
namespace {

bool failed(ChildFailure* f, const char* stage, int err, const char* what) noexcept {
  if (f) {
    f->stage = stage;
    f->err = err;
    std::snprintf(f->message, sizeof f->message, "%s", what);
  }
  return false;
}

std::uint64_t current_cap_mask(cap_flag_t which) {
  std::uint64_t mask = 0;
  cap_t caps = cap_get_proc();
  if (!caps) return 0;
  for (unsigned c = 0; c < 64; ++c) {
    cap_flag_value_t v = CAP_CLEAR;
    if (cap_get_flag(caps, static_cast<cap_value_t>(c), which, &v) == 0 && v == CAP_SET)
      mask |= std::uint64_t{1} << c;
  }
  cap_free(caps);
  return mask;
}

unsigned read_last_cap() {
  auto text = sys::read_file("/proc/sys/kernel/cap_last_cap");
  if (!text) return CAP_LAST_CAP;
  return static_cast<unsigned>(std::stoul(*text));
}

std::string cap_list_name(std::uint64_t mask) {
  std::string out;
  for (unsigned c = 0; c < 64; ++c) {
    if (!(mask & (std::uint64_t{1} << c))) continue;
    char* name = cap_to_name(static_cast<cap_value_t>(c));
    if (!out.empty()) out += ", ";
    std::string n = name ? name : std::to_string(c);
    std::transform(n.begin(), n.end(), n.begin(), ::toupper);
    out += n;
    cap_free(name);
  }
  return out;
}

}  // namespace

Result<unsigned> capability_number(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  cap_value_t value = 0;
  if (cap_from_name(lower.c_str(), &value) != 0)
    return failf(Errc::invalid_argument, "unknown capability {:?}", name);
  return static_cast<unsigned>(value);
}

Result<int> rlimit_number(const std::string& name) {
  static const std::map<std::string, int> kLimits = {
      {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
      {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
  };
  auto it = kLimits.find(name);
  if (it == kLimits.end()) return failf(Errc::invalid_argument, "unknown rlimit {:?}", name);
  return it->second;
}

Result<PreparedProcessSecurity> prepare_process_security(const oci::Spec& spec,
                                                         const oci::Process& process,
                                                         const SecurityContext& context) {
  PreparedProcessSecurity s;
  s.last_cap = read_last_cap();

  // Capabilities: names resolved now so the child only does bit operations.
  if (process.capabilities) {
    s.manage_caps = true;
    auto to_mask = [&](const std::vector<std::string>& names, const char* set,
                       std::uint64_t& out) -> Status {
      for (const auto& n : names) {
        auto c = capability_number(n);
        if (!c)
          return std::unexpected(
              std::move(c.error()).context(fmt::format("process.capabilities.{}", set)));
        if (*c > s.last_cap) {
          s.warnings.push_back(
              fmt::format("capability {} is not supported by this kernel; ignored", n));
          continue;
        }
        out |= std::uint64_t{1} << *c;
      }
      return ok();
    };
    RAIND_TRY(to_mask(process.capabilities->bounding, "bounding", s.bounding));
    RAIND_TRY(to_mask(process.capabilities->effective, "effective", s.effective));
    RAIND_TRY(to_mask(process.capabilities->permitted, "permitted", s.permitted));
    RAIND_TRY(to_mask(process.capabilities->inheritable, "inheritable", s.inheritable));
    RAIND_TRY(to_mask(process.capabilities->ambient, "ambient", s.ambient));
    // A process can never gain a capability its runtime lacks (here: root without
    // CAP_SYS_RESOURCE). Say which one instead of failing later with a bare EPERM. Inside a new
    // user namespace the container's root has a full set of its own.
    if (!context.in_user_namespace) {
      std::uint64_t have = current_cap_mask(CAP_PERMITTED);
      std::uint64_t missing = (s.effective | s.permitted | s.ambient) & ~have;
      if (missing)
        return failf(Errc::permission_denied,
                     "process.capabilities: the runtime itself lacks {}, so the container cannot "
                     "be given it",
                     cap_list_name(missing));
      // Capabilities absent from our bounding set are already gone: nothing to keep there.
      s.bounding &= current_cap_mask(CAP_PERMITTED) | s.bounding;
    }
    // Ambient capabilities must also be permitted and inheritable.
    s.permitted |= s.ambient;
    s.inheritable |= s.ambient;
  }

  for (const auto& r : process.rlimits) {
    auto resource = rlimit_number(r.type);
    if (!resource) return std::unexpected(std::move(resource.error()).context("process.rlimits"));
    if (r.soft > r.hard)
      return failf(Errc::invalid_argument,
                   "process.rlimits: {} soft limit {} exceeds hard limit {}", r.type, r.soft,
                   r.hard);
    rlimit current{};
    getrlimit(*resource, &current);
    if (!context.in_user_namespace && r.hard > current.rlim_max &&
        current_cap_mask(CAP_EFFECTIVE) != 0 &&
        !(current_cap_mask(CAP_EFFECTIVE) & (std::uint64_t{1} << CAP_SYS_RESOURCE)))
      return failf(Errc::permission_denied,
                   "process.rlimits: {} hard limit {} is above the runtime's own hard limit {} and "
                   "raising it needs CAP_SYS_RESOURCE",
                   r.type, r.hard, current.rlim_max);
    PreparedProcessSecurity::Limit limit;
    limit.resource = *resource;
    limit.value.rlim_cur = r.soft;
    limit.value.rlim_max = r.hard;
    static const char* const kNames[] = {
        "RLIMIT_CPU",      "RLIMIT_FSIZE", "RLIMIT_DATA",   "RLIMIT_STACK",
        "RLIMIT_CORE",     "RLIMIT_RSS",   "RLIMIT_NPROC",  "RLIMIT_NOFILE",
        "RLIMIT_MEMLOCK",  "RLIMIT_AS",    "RLIMIT_LOCKS",  "RLIMIT_SIGPENDING",
        "RLIMIT_MSGQUEUE", "RLIMIT_NICE",  "RLIMIT_RTPRIO", "RLIMIT_RTTIME"};
    limit.name = *resource >= 0 && *resource < 16 ? kNames[*resource] : "rlimit";
    s.rlimits.push_back(limit);
  }

  if (process.oom_score_adj) s.oom_score_adj = std::to_string(*process.oom_score_adj);

  s.uid = process.user.uid;
  s.gid = process.user.gid;
  s.groups.assign(process.user.additional_gids.begin(), process.user.additional_gids.end());
  s.umask = process.user.umask ? std::optional<mode_t>(static_cast<mode_t>(*process.user.umask))
                               : std::optional<mode_t>(0022);
  s.no_new_privs = process.no_new_privileges;

  if (!process.apparmor_profile.empty()) {
    if (aa_is_enabled() == 1) {
      s.apparmor_profile = process.apparmor_profile;
      s.apparmor_exec = "exec " + process.apparmor_profile;
    } else {
      s.warnings.push_back(fmt::format(
          "AppArmor profile {:?} requested but AppArmor is not enabled on this host; continuing "
          "without it",
          process.apparmor_profile));
    }
  }

  if (spec.linux_ && spec.linux_->seccomp) {
    const auto& sc = *spec.linux_->seccomp;
    auto filter = compile_seccomp(sc, &s.seccomp_notify);
    if (!filter) return std::unexpected(std::move(filter.error()));
    s.seccomp_filter = std::move(*filter);
    s.has_seccomp = true;
    for (const auto& flag : sc.flags) {
      if (flag == "SECCOMP_FILTER_FLAG_LOG") s.seccomp_flags |= SECCOMP_FILTER_FLAG_LOG;
      if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW")
        s.seccomp_flags |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    }
    if (s.seccomp_notify) {
      if (sc.listener_path.empty())
        return fail(Errc::invalid_argument,
                    "linux.seccomp: SCMP_ACT_NOTIFY needs linux.seccomp.listenerPath");
      s.seccomp_flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
      int sock = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (sock < 0) return fail_errno("socket for the seccomp listener");
      s.listener.reset(sock);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      if (sc.listener_path.size() >= sizeof(addr.sun_path))
        return failf(Errc::invalid_argument, "linux.seccomp.listenerPath {:?} is too long",
                     sc.listener_path);
      std::memcpy(addr.sun_path, sc.listener_path.c_str(), sc.listener_path.size() + 1);
      if (::connect(sock, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
        return fail_errno(fmt::format("connect to seccomp listener {}", sc.listener_path));
      // ContainerProcessState (runtime-spec): the pid is filled in by the child in place.
      nlohmann::json state = {{"ociVersion", std::string(oci::kOciVersion)},
                              {"id", context.container_id},
                              {"status", "creating"},
                              {"bundle", context.bundle},
                              {"annotations", context.annotations}};
      std::string head =
          fmt::format(R"({{"ociVersion":"{}","fds":["seccompFd"],"pid":)", oci::kOciVersion);
      s.listener_pid_offset = head.size();
      s.listener_payload = head + std::string(10, ' ') + R"(,"metadata":)" +
                           nlohmann::json(sc.listener_metadata).dump() + R"(,"state":)" +
                           state.dump() + "}";
    }
  }
  return s;
}

bool apply_rlimits(const PreparedProcessSecurity& s, ChildFailure* f) noexcept {
  for (const auto& l : s.rlimits) {
    if (::setrlimit(l.resource, &l.value) != 0) return failed(f, "rlimits", errno, l.name);
  }
  return true;
}

bool apply_oom_score_adj(const PreparedProcessSecurity& s, ChildFailure* f) noexcept {
  if (s.oom_score_adj.empty()) return true;
  int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return failed(f, "oom_score_adj", errno, "open /proc/self/oom_score_adj");
  ssize_t n = ::write(fd, s.oom_score_adj.data(), s.oom_score_adj.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return failed(f, "oom_score_adj", err, "write /proc/self/oom_score_adj");
  return true;
}

bool apply_user_and_capabilities(const PreparedProcessSecurity& s, ChildFailure* f) noexcept {
  if (s.manage_caps) {
    // The bounding set is dropped while we still hold CAP_SETPCAP.
    for (unsigned c = 0; c <= s.last_cap; ++c) {
      if (s.bounding & (std::uint64_t{1} << c)) continue;
      if (::prctl(PR_CAPBSET_DROP, c, 0, 0, 0) != 0 && errno != EINVAL)
        return failed(f, "capabilities", errno, "drop from the bounding set");
    }
  }
  if (s.set_groups && ::setgroups(s.groups.size(), s.groups.data()) != 0)
    return failed(f, "user", errno, "setgroups");
  if (::setresgid(s.gid, s.gid, s.gid) != 0) return failed(f, "user", errno, "setresgid");
  // Keep the permitted set across the switch away from uid 0; capset below restores exactly
  // the sets the spec asks for.
  if (s.manage_caps && ::prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0)
    return failed(f, "user", errno, "prctl(PR_SET_KEEPCAPS)");
  if (::setresuid(s.uid, s.uid, s.uid) != 0) return failed(f, "user", errno, "setresuid");
  if (s.umask) ::umask(*s.umask);
  if (!s.manage_caps) return true;
  if (::prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)
    return failed(f, "user", errno, "prctl(PR_SET_KEEPCAPS, 0)");

  __user_cap_header_struct header{};
  header.version = _LINUX_CAPABILITY_VERSION_3;
  header.pid = 0;
  __user_cap_data_struct data[2]{};
  for (int i = 0; i < 2; ++i) {
    data[i].effective = static_cast<std::uint32_t>(s.effective >> (32 * i));
    data[i].permitted = static_cast<std::uint32_t>(s.permitted >> (32 * i));
    data[i].inheritable = static_cast<std::uint32_t>(s.inheritable >> (32 * i));
  }
  if (::syscall(SYS_capset, &header, data) != 0) return failed(f, "capabilities", errno, "capset");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return failed(f, "capabilities", errno, "clear ambient capabilities");
  for (unsigned c = 0; c <= s.last_cap; ++c) {
    if (!(s.ambient & (std::uint64_t{1} << c))) continue;
    if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) != 0)
      return failed(f, "capabilities", errno, "raise ambient capability");
  }
  return true;
}

bool apply_no_new_privs(const PreparedProcessSecurity& s, ChildFailure* f) noexcept {
  if (s.no_new_privs && ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return failed(f, "no_new_privs", errno, "prctl(PR_SET_NO_NEW_PRIVS)");
  return true;
}

bool apply_apparmor(const PreparedProcessSecurity& s, ChildFailure* f) noexcept {
  if (s.apparmor_exec.empty()) return true;
  int fd = ::open("/proc/self/attr/apparmor/exec", O_WRONLY | O_CLOEXEC);
  if (fd < 0) fd = ::open("/proc/self/attr/exec", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return failed(f, "apparmor", errno, "open /proc/self/attr/exec");
  ssize_t n = ::write(fd, s.apparmor_exec.data(), s.apparmor_exec.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return failed(f, "apparmor", err, "change_onexec profile");
  return true;
}

bool apply_seccomp(PreparedProcessSecurity& s, ChildFailure* f) noexcept {
  if (!s.has_seccomp) return true;
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(s.seccomp_filter.size());
  prog.filter = s.seccomp_filter.data();
  long rc = ::syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, s.seccomp_flags, &prog);
  if (rc < 0) return failed(f, "seccomp", errno, "load seccomp filter");
  if (!s.seccomp_notify) return true;
  int notify_fd = static_cast<int>(rc);
  // Hand the notify fd to the listener with the container process state.
  char pid_text[16];
  int len = std::snprintf(pid_text, sizeof pid_text, "%d", static_cast<int>(::getpid()));
  std::memcpy(s.listener_payload.data() + s.listener_pid_offset, pid_text,
              static_cast<std::size_t>(len));
  iovec iov{s.listener_payload.data(), s.listener_payload.size()};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {0};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &notify_fd, sizeof(int));
  if (::sendmsg(s.listener.get(), &msg, MSG_NOSIGNAL) < 0)
    return failed(f, "seccomp", errno, "send the notify fd to the listener");
  ::close(notify_fd);
  ::close(s.listener.release());
  return true;
}

}  // namespace raind::droplet

#include "raind/droplet/parse.hpp"

#include <signal.h>
#include <sys/mount.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstring>

namespace raind::droplet {

Status validate_container_id(std::string_view id) {
  if (id.empty()) return fail(Errc::invalid_argument, "container id cannot be empty");
  if (id == "." || id == "..")
    return failf(Errc::invalid_argument, "invalid container id \"{}\"", id);
  for (char c : id) {
    bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' || c == '.';
    if (!ok) return failf(Errc::invalid_argument, "invalid container id \"{}\"", id);
  }
  if (id.size() > 1024) return failf(Errc::invalid_argument, "container id too long");
  return ok();
}

namespace {

struct SignalName {
  const char* name;
  int number;
};

constexpr SignalName kSignals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},   {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT}, {"IOT", SIGIOT},       {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL}, {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},     {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},     {"STOP", SIGSTOP},
    {"TSTP", SIGTSTP},     {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},     {"URG", SIGURG},
    {"XCPU", SIGXCPU},     {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},
    {"WINCH", SIGWINCH},   {"IO", SIGIO},     {"POLL", SIGPOLL},     {"PWR", SIGPWR},
    {"SYS", SIGSYS},
};

std::optional<int> parse_int(std::string_view s) {
  int value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace

Result<int> parse_signal(std::string_view text) {
  if (text.empty()) return fail(Errc::invalid_argument, "empty signal");
  if (auto n = parse_int(text)) {
    if (*n <= 0 || *n > SIGRTMAX)
      return failf(Errc::invalid_argument, "invalid signal \"{}\"", text);
    return *n;
  }
  std::string upper(text);
  std::transform(upper.begin(), upper.end(), upper.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  std::string_view name = upper;
  if (name.starts_with("SIG")) name.remove_prefix(3);
  for (const auto& s : kSignals)
    if (name == s.name) return s.number;
  // Real-time signals: RTMIN, RTMIN+n, RTMAX-n.
  auto rt = [&](std::string_view base, int anchor, int sign) -> std::optional<int> {
    if (!name.starts_with(base)) return std::nullopt;
    auto rest = name.substr(base.size());
    if (rest.empty()) return anchor;
    if ((sign > 0 && rest[0] != '+') || (sign < 0 && rest[0] != '-')) return std::nullopt;
    auto off = parse_int(rest.substr(1));
    if (!off) return std::nullopt;
    int v = anchor + sign * *off;
    if (v < SIGRTMIN || v > SIGRTMAX) return std::nullopt;
    return v;
  };
  if (auto v = rt("RTMIN", SIGRTMIN, 1)) return *v;
  if (auto v = rt("RTMAX", SIGRTMAX, -1)) return *v;
  return failf(Errc::invalid_argument, "unknown signal \"{}\"", text);
}

namespace {

struct FlagOption {
  const char* name;
  bool clear;
  unsigned long flag;
};

constexpr FlagOption kFlagOptions[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"suid", true, MS_NOSUID},
    {"nosuid", false, MS_NOSUID},
    {"dev", true, MS_NODEV},
    {"nodev", false, MS_NODEV},
    {"exec", true, MS_NOEXEC},
    {"noexec", false, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"atime", true, MS_NOATIME},
    {"noatime", false, MS_NOATIME},
    {"diratime", true, MS_NODIRATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
    {"lazytime", false, MS_LAZYTIME},
    {"nolazytime", true, MS_LAZYTIME},
    {"silent", false, MS_SILENT},
    {"loud", true, MS_SILENT},
    {"nosymfollow", false, MS_NOSYMFOLLOW},
    {"symfollow", true, MS_NOSYMFOLLOW},
};

struct PropagationOption {
  const char* name;
  unsigned long flags;
};

constexpr PropagationOption kPropagation[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

}  // namespace

MountOptions parse_mount_options(const std::vector<std::string>& options) {
  MountOptions out;
  for (const auto& opt : options) {
    if (opt == "bind") {
      out.bind = true;
      out.flags |= MS_BIND;
      continue;
    }
    if (opt == "rbind") {
      out.bind = out.recursive_bind = true;
      out.flags |= MS_BIND | MS_REC;
      continue;
    }
    if (opt == "tmpcopyup") {
      out.tmpcopyup = true;
      continue;
    }
    bool handled = false;
    for (const auto& f : kFlagOptions) {
      if (opt == f.name) {
        if (f.clear)
          out.flags &= ~f.flag;
        else
          out.flags |= f.flag;
        handled = true;
        break;
      }
    }
    if (handled) continue;
    for (const auto& p : kPropagation) {
      if (opt == p.name) {
        out.propagation = p.flags;
        handled = true;
        break;
      }
    }
    if (handled) continue;
    if (!out.data.empty()) out.data += ',';
    out.data += opt;
  }
  if (out.bind) {
    constexpr unsigned long kRemountable = MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                                           MS_NOATIME | MS_NODIRATIME | MS_RELATIME |
                                           MS_STRICTATIME | MS_NOSYMFOLLOW;
    out.bind_remount_flags = out.flags & kRemountable;
  }
  return out;
}

Result<unsigned long> parse_propagation(std::string_view keyword) {
  if (keyword.empty()) return MS_PRIVATE | MS_REC;
  for (const auto& p : kPropagation)
    if (keyword == p.name) return p.flags;
  return failf(Errc::invalid_argument, "invalid rootfsPropagation \"{}\"", keyword);
}

std::string clean_container_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (pos <= path.size()) {
    auto next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    auto part = path.substr(pos, next - pos);
    pos = next + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(part);
  }
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

Result<std::pair<std::uint32_t, std::optional<std::uint32_t>>> parse_user_spec(
    std::string_view text) {
  auto colon = text.find(':');
  auto uid_text = text.substr(0, colon);
  std::uint32_t uid = 0;
  auto [p1, e1] = std::from_chars(uid_text.data(), uid_text.data() + uid_text.size(), uid);
  if (e1 != std::errc() || p1 != uid_text.data() + uid_text.size() || uid_text.empty())
    return failf(Errc::invalid_argument, "invalid user \"{}\": expected uid[:gid]", text);
  if (colon == std::string_view::npos) return std::pair{uid, std::optional<std::uint32_t>{}};
  auto gid_text = text.substr(colon + 1);
  std::uint32_t gid = 0;
  auto [p2, e2] = std::from_chars(gid_text.data(), gid_text.data() + gid_text.size(), gid);
  if (e2 != std::errc() || p2 != gid_text.data() + gid_text.size() || gid_text.empty())
    return failf(Errc::invalid_argument, "invalid user \"{}\": expected uid[:gid]", text);
  return std::pair{uid, std::optional<std::uint32_t>{gid}};
}

}  // namespace raind::droplet

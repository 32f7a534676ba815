#include "raind/droplet/hooks.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "hooks_internal.hpp"
#include "raind/droplet/audit.hpp"
#include "raind/log.hpp"
#include "raind/unique_fd.hpp"

namespace raind::droplet {
namespace {

constexpr std::size_t kTailBytes = 1024;

struct NsType {
  const char* name;
  int flag;
};
constexpr NsType kNsTypes[] = {{"user", CLONE_NEWUSER},     {"mnt", CLONE_NEWNS},
                               {"uts", CLONE_NEWUTS},       {"ipc", CLONE_NEWIPC},
                               {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID},
                               {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}};

bool same_ns(pid_t pid, const char* name) {
  char a[64], b[64];
  std::snprintf(a, sizeof a, "/proc/self/ns/%s", name);
  std::snprintf(b, sizeof b, "/proc/%d/ns/%s", pid, name);
  struct stat sa {
  }, sb{};
  if (::stat(a, &sa) != 0 || ::stat(b, &sb) != 0) return true;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// In the forked hook child: join pid's namespaces (all that differ, atomically via a pidfd).
// Returns true when a pid namespace was joined (a further fork is needed to be inside it).
bool enter_namespaces_of(pid_t pid) {
  int flags = 0;
  for (const auto& t : kNsTypes)
    if (!same_ns(pid, t.name)) flags |= t.flag;
  if (!flags) return false;
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0 || ::setns(pidfd, flags) != 0) {
    dprintf(2, "droplet: enter namespaces of %d: %s\n", pid, std::strerror(errno));
    ::_exit(126);
  }
  ::close(pidfd);
  return flags & (CLONE_NEWPID | CLONE_NEWTIME);
}

[[noreturn]] void exec_hook(const oci::Hook& hook, int in_fd, int out_fd, int parent_in,
                            int parent_out, pid_t enter_ns_of) {
  // Our copies of the parent's ends would keep the hook's stdin from ever reaching EOF (an
  // intermediate process below never execs, so O_CLOEXEC does not help).
  ::close(parent_in);
  ::close(parent_out);
  ::setpgid(0, 0);
  if (enter_ns_of > 0 && enter_namespaces_of(enter_ns_of)) {
    pid_t inner = ::fork();
    if (inner < 0) ::_exit(126);
    if (inner > 0) {
      int st = 0;
      while (::waitpid(inner, &st, 0) < 0 && errno == EINTR) {
      }
      ::_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    }
  }
  ::dup2(in_fd, 0);
  ::dup2(out_fd, 1);
  ::dup2(out_fd, 2);
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::string path = hook.path;
  if (hook.args.empty()) {
    argv.push_back(path.data());
  } else {
    for (const auto& a : hook.args) argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  for (const auto& e : hook.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  ::execve(path.c_str(), argv.data(), envp.data());
  dprintf(2, "exec %s: %s\n", path.c_str(), std::strerror(errno));
  ::_exit(127);
}

std::string tail_of(const std::string& s) {
  std::string t = s.size() > kTailBytes ? s.substr(s.size() - kTailBytes) : s;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  for (auto& c : t)
    if (c == '\n') c = ' ';
  return t;
}

}  // namespace

namespace {

Status run_hook_collect(const oci::Hook& hook, std::string_view state_json, pid_t enter_ns_of,
                        int& exit_code, std::string& tail) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return fail_errno("create hook stdin pipe");
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return fail_errno("create hook output pipe");
  UniqueFd out_r(out[0]), out_w(out[1]);
  auto start = std::chrono::steady_clock::now();
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno(fmt::format("fork hook {}", hook.path));
  if (pid == 0) exec_hook(hook, in_r.get(), out_w.get(), in_w.get(), out_r.get(), enter_ns_of);
  ::setpgid(pid, pid);
  in_r.reset();
  out_w.reset();
  // The state is small; a hook that does not read it simply gets EPIPE on our side.
  std::size_t off = 0;
  while (off < state_json.size()) {
    ssize_t n = ::write(in_w.get(), state_json.data() + off, state_json.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    off += static_cast<std::size_t>(n);
  }
  in_w.reset();
  ::fcntl(out_r.get(), F_SETFL, O_NONBLOCK);
  std::string output;
  int status = 0;
  bool exited = false, timed_out = false;
  auto deadline = hook.timeout ? start + std::chrono::seconds(*hook.timeout)
                               : std::chrono::steady_clock::time_point::max();
  bool eof = false;
  while (!exited) {
    if (!eof) {
      pollfd p{out_r.get(), POLLIN, 0};
      ::poll(&p, 1, 20);
      char buf[4096];
      for (;;) {
        ssize_t n = ::read(out_r.get(), buf, sizeof buf);
        if (n > 0) {
          output.append(buf, static_cast<std::size_t>(n));
          if (output.size() > 4 * kTailBytes) output.erase(0, output.size() - 2 * kTailBytes);
          continue;
        }
        if (n == 0) eof = true;
        break;
      }
    } else {
      ::usleep(2000);
    }
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) exited = true;
    if (!exited && std::chrono::steady_clock::now() >= deadline) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      exited = timed_out = true;
    }
  }
  // Drain what is left without blocking on grandchildren that kept the pipe open.
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n <= 0) break;
    output.append(buf, static_cast<std::size_t>(n));
  }
  tail = tail_of(output);
  exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto with_tail = [&](std::string msg) {
    if (!tail.empty()) msg += fmt::format(": {}", tail);
    return msg;
  };
  if (timed_out)
    return fail(Errc::timeout,
                with_tail(fmt::format("hook {} timed out after {}s", hook.path, *hook.timeout)));
  if (WIFSIGNALED(status))
    return fail(Errc::system,
                with_tail(fmt::format("hook {} killed by signal {}", hook.path, WTERMSIG(status))));
  if (WEXITSTATUS(status) != 0)
    return fail(Errc::system, with_tail(fmt::format("hook {} failed with exit status {}", hook.path,
                                                    WEXITSTATUS(status))));
  if (!output.empty()) logger("droplet.hooks")->debug("hook {} output: {}", hook.path, tail);
  return ok();
}

}  // namespace

Status run_hook(const oci::Hook& hook, std::string_view state_json, pid_t enter_ns_of,
                std::string_view phase) {
  auto started = std::chrono::steady_clock::now();
  int exit_code = -1;
  std::string tail;
  Status result = run_hook_collect(hook, state_json, enter_ns_of, exit_code, tail);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
                .count();
  audit::hook_record(phase, hook, state_json, exit_code, static_cast<long>(ms), tail, result);
  return result;
}

Status run_hooks(const std::vector<oci::Hook>& hooks, std::string_view state_json,
                 std::string_view phase, pid_t enter_ns_of) {
  for (const auto& h : hooks) {
    auto st = run_hook(h, state_json, enter_ns_of, phase);
    if (!st) return std::unexpected(std::move(st.error()).context(fmt::format("{} hook", phase)));
  }
  return ok();
}

void run_hooks_warn(const std::vector<oci::Hook>& hooks, std::string_view state_json,
                    std::string_view phase) {
  for (const auto& h : hooks) {
    auto st = run_hook(h, state_json, 0, phase);
    if (!st) logger("droplet")->warn("{} hook: {}", phase, st.error().what());
  }
}

void run_hooks_in_child(const std::vector<oci::Hook>& hooks, std::string_view state,
                        const char* phase) noexcept {
  try {
    for (const auto& h : hooks) {
      auto st = run_hook(h, state, 0, phase);
      if (!st) {
        dprintf(2, "droplet: %s hook: %s\n", phase, st.error().what().c_str());
        ::_exit(1);
      }
    }
  } catch (...) {
    dprintf(2, "droplet: %s hook: out of memory\n", phase);
    ::_exit(1);
  }
}

}  // namespace raind::droplet

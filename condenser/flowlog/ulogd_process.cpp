#include "condenser/flowlog/ulogd_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <fmt/format.h>

extern char** environ;

namespace raind::condenser::flowlog {
Result<UlogdChild> spawn_ulogd(const std::filesystem::path& binary,
                               const std::filesystem::path& config,
                               const std::filesystem::path& console_log) {
  UniqueFd null_in(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!null_in) return fail_errno("open /dev/null");
  UniqueFd out(::open(console_log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640));
  if (!out) return fail_errno(fmt::format("open {}", console_log.string()));

  std::vector<std::string> argv = {binary.string(), "-c", config.string()};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  const pid_t parent = ::getpid();
  // fork, not posix_spawn: the child must ask for SIGKILL when condenserd dies. A condenserd
  // killed outright would otherwise leave a ulogd bound to NFLOG groups 10-12, and the next
  // condenserd's ulogd could not bind them (one listener per group and network namespace).
  pid_t pid = ::fork();
  if (pid < 0) return fail_errno(fmt::format("fork for {}", argv[0]));
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    if (::dup2(null_in.get(), 0) < 0 || ::dup2(out.get(), 1) < 0 || ::dup2(out.get(), 2) < 0)
      ::_exit(127);
    // asio's sockets are not close-on-exec; ulogd must not hold our listener or connections.
    ::syscall(SYS_close_range, 3u, ~0u, 0u);
    ::execve(args[0], args.data(), environ);
    ::_exit(127);
  }
  UlogdChild child{sys::ChildProcess(pid), UniqueFd()};
  child.pidfd.reset(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!child.pidfd) return fail_errno(fmt::format("pidfd_open {}", pid));
  return child;
}

}  // namespace raind::condenser::flowlog

#include "raind/sys/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include "raind/unique_fd.hpp"

extern char** environ;

namespace raind::sys {
namespace {

ExitStatus decode(int status) {
  ExitStatus out;
  if (WIFEXITED(status)) {
    out.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out.signal = WTERMSIG(status);
    out.code = -1;
  }
  return out;
}

std::int64_t monotonic_ms() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Writes to the child's stdin without letting SIGPIPE kill us when the child has closed it
// (e.g. `true` given stdin data): SIGPIPE is blocked for this thread during the write and a
// SIGPIPE this write raised is consumed, so the caller just sees EPIPE.
ssize_t write_no_sigpipe(int fd, const char* data, std::size_t size) {
  sigset_t pipe_set, old_mask, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigpending(&pending);
  bool already_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  ssize_t n = ::write(fd, data, size);
  int err = errno;
  if (n < 0 && err == EPIPE && !already_pending) {
    timespec zero{};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  errno = err;
  return n;
}

// Async-signal-safe message for a failed execvp in the child (no malloc, no locale).
void report_exec_failure(const char* program, int err) {
  auto put = [](const char* text) { (void)!::write(2, text, strlen(text)); };
  const char* name = strerrorname_np(err);
  put("exec ");
  put(program);
  put(": ");
  put(err == ENOENT ? "no such file or directory" : err == EACCES ? "permission denied" : "failed");
  put(" (");
  put(name ? name : "unknown error");
  put(")\n");
}

// Waits for the child with a deadline; false when the deadline passed first.
bool wait_exit_until(pid_t pid, std::int64_t deadline_ms) {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) return true;  // no pidfd: the caller falls back to a blocking wait
  UniqueFd owned(pidfd);
  for (;;) {
    int wait_ms = static_cast<int>(std::max<std::int64_t>(0, deadline_ms - monotonic_ms()));
    pollfd pfd{pidfd, POLLIN, 0};
    int r = ::poll(&pfd, 1, wait_ms);
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) return true;
  }
}

}  // namespace

Result<ExitStatus> wait_pid(pid_t pid) {
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, 0);
    if (r == pid) return decode(status);
    if (r < 0 && errno == EINTR) continue;
    return fail_errno(fmt::format("wait for pid {}", pid));
  }
}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      (void)wait_pid(pid_);
    }
    pid_ = other.release();
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    (void)wait_pid(pid_);
  }
}

Result<ExitStatus> ChildProcess::wait() {
  if (pid_ <= 0) return fail(Errc::invalid_argument, "no child process to wait for");
  auto status = wait_pid(pid_);
  pid_ = -1;
  return status;
}

Result<RunResult> run(const std::vector<std::string>& argv, const RunOptions& options) {
  if (argv.empty()) return fail(Errc::invalid_argument, "run: empty command");
  int out_pipe[2], err_pipe[2], in_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return fail_errno("pipe");
  UniqueFd in_r(in_pipe[0]), in_w(in_pipe[1]);

  // Everything the child needs is built before fork().
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  for (const auto& e : options.env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  pid_t pid = ::fork();
  if (pid < 0) return fail_errno("fork");
  if (pid == 0) {
    ::dup2(in_r.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(err_w.get(), 2);
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    // An ignored SIGPIPE would survive execve; tools expect the default.
    ::signal(SIGPIPE, SIG_DFL);
    if (!options.env.empty()) environ = cenv.data();
    ::execvp(cargv[0], cargv.data());
    report_exec_failure(cargv[0], errno);
    _exit(127);
  }
  ChildProcess child(pid);
  in_r.reset();
  out_w.reset();
  err_w.reset();

  if (options.stdin_data) {
    // Best effort: a child that does not read its input must not block us forever.
    ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  }
  std::string_view pending_in = options.stdin_data ? std::string_view(*options.stdin_data) : "";
  if (pending_in.empty()) in_w.reset();

  RunResult result;
  std::int64_t deadline = options.timeout ? monotonic_ms() + options.timeout->count() : -1;
  bool timed_out = false;
  while (out_r || err_r) {
    pollfd fds[3];
    int n = 0;
    int out_idx = -1, err_idx = -1, in_idx = -1;
    if (out_r) {
      fds[n] = {out_r.get(), POLLIN, 0};
      out_idx = n++;
    }
    if (err_r) {
      fds[n] = {err_r.get(), POLLIN, 0};
      err_idx = n++;
    }
    if (in_w) {
      fds[n] = {in_w.get(), POLLOUT, 0};
      in_idx = n++;
    }
    int wait_ms = -1;
    if (deadline >= 0) {
      wait_ms = static_cast<int>(std::max<std::int64_t>(0, deadline - monotonic_ms()));
      if (wait_ms == 0) {
        timed_out = true;
        break;
      }
    }
    int r = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
    if (r < 0) {
      if (errno == EINTR) continue;
      return fail_errno("poll");
    }
    char buffer[8192];
    auto drain = [&](int idx, UniqueFd& fd, std::string& sink) {
      if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t got = ::read(fd.get(), buffer, sizeof(buffer));
      if (got > 0)
        sink.append(buffer, static_cast<std::size_t>(got));
      else if (got == 0 || errno != EINTR)
        fd.reset();
    };
    drain(out_idx, out_r, result.out);
    drain(err_idx, err_r, result.err);
    if (in_idx >= 0 && (fds[in_idx].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t put = write_no_sigpipe(in_w.get(), pending_in.data(), pending_in.size());
      if (put > 0) pending_in.remove_prefix(static_cast<std::size_t>(put));
      if (put < 0 && errno != EAGAIN && errno != EINTR) pending_in = {};
      if (pending_in.empty()) in_w.reset();
    }
  }
  in_w.reset();
  // The child may close its output and keep running: the timeout still applies.
  if (!timed_out && deadline >= 0) timed_out = !wait_exit_until(child.pid(), deadline);
  if (timed_out) {
    ::kill(child.pid(), SIGKILL);
    (void)child.wait();
    return failf(Errc::timeout, "{} timed out after {} ms", argv[0], options.timeout->count());
  }
  RAIND_TRY_ASSIGN(result.status, child.wait());
  return result;
}

}  // namespace raind::sys

#include "condenser/system/async_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "condenser/system/deadline.hpp"
#include "raind/log.hpp"
#include "raind/unique_fd.hpp"

extern char** environ;

namespace raind::condenser::system {
namespace {

namespace asio = boost::asio;

Result<UniqueFd> make_memfd(const char* name) {
  int fd = ::memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) return fail_errno(fmt::format("memfd_create {}", name));
  return UniqueFd(fd);
}

std::string read_back(int fd, std::size_t max) {
  std::string out;
  char buf[16384];
  off_t offset = 0;
  while (out.size() < max) {
    ssize_t n = ::pread(fd, buf, std::min(sizeof buf, max - out.size()), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    offset += n;
  }
  return out;
}

sys::ExitStatus decode(int status) {
  sys::ExitStatus s;
  if (WIFEXITED(status)) s.code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) s.signal = WTERMSIG(status);
  return s;
}

struct SpawnActions {
  posix_spawn_file_actions_t actions;
  SpawnActions() { posix_spawn_file_actions_init(&actions); }
  ~SpawnActions() { posix_spawn_file_actions_destroy(&actions); }
  SpawnActions(const SpawnActions&) = delete;
  SpawnActions& operator=(const SpawnActions&) = delete;
};

struct SpawnAttributes {
  posix_spawnattr_t attr;
  SpawnAttributes() { posix_spawnattr_init(&attr); }
  ~SpawnAttributes() { posix_spawnattr_destroy(&attr); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
};

}  // namespace

asio::awaitable<Result<sys::RunResult>> run_async(std::vector<std::string> argv,
                                                  AsyncRunOptions options) {
  if (argv.empty() || argv[0].empty() || argv[0][0] != '/')
    co_return failf(Errc::invalid_argument, "run_async: '{}' is not an absolute path",
                    argv.empty() ? std::string() : argv[0]);
  auto out = make_memfd("stdout");
  if (!out) co_return std::unexpected(out.error());
  auto err = make_memfd("stderr");
  if (!err) co_return std::unexpected(err.error());
  UniqueFd input;
  if (options.stdin_data) {
    auto in = make_memfd("stdin");
    if (!in) co_return std::unexpected(in.error());
    const std::string& data = *options.stdin_data;
    for (std::size_t done = 0; done < data.size();) {
      ssize_t n = ::write(in->get(), data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) co_return fail_errno("write stdin memfd");
      done += static_cast<std::size_t>(n);
    }
    ::lseek(in->get(), 0, SEEK_SET);
    input = std::move(*in);
  } else {
    input.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!input) co_return fail_errno("open /dev/null");
  }

  SpawnActions actions;
  posix_spawn_file_actions_adddup2(&actions.actions, input.get(), 0);
  posix_spawn_file_actions_adddup2(&actions.actions, out->get(), 1);
  posix_spawn_file_actions_adddup2(&actions.actions, err->get(), 2);
  // Nothing else crosses over: asio's accepted sockets are not close-on-exec, and a client
  // connection inherited by droplet's long-lived shim would outlive a crashed daemon.
  posix_spawn_file_actions_addclosefrom_np(&actions.actions, 3);
  // The child starts with default signal dispositions and an empty mask, whatever asio set.
  SpawnAttributes attributes;
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attributes.attr, &all);
  posix_spawnattr_setsigmask(&attributes.attr, &none);
  posix_spawnattr_setflags(&attributes.attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<char*> envp;
  if (!options.env.empty()) {
    for (auto& e : options.env) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions.actions, &attributes.attr, args.data(),
                         options.env.empty() ? environ : envp.data());
  if (rc != 0) co_return fail_errno(rc, fmt::format("spawn {}", argv[0]));
  sys::ChildProcess child(pid);  // killed and reaped if we leave early

  int raw_pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (raw_pidfd < 0) co_return fail_errno("pidfd_open");
  auto executor = co_await asio::this_coro::executor;
  asio::posix::stream_descriptor pidfd(executor, raw_pidfd);
  Deadline deadline(executor);  // disarmed once reaped: a late expiry must not signal a reused pid
  bool timed_out = false;
  if (options.timeout.count() > 0)
    deadline.arm(options.timeout, [&] {
      timed_out = true;
      ::kill(pid, SIGKILL);
    });
  // Reaped without blocking: this is the daemon's only thread, and the child may be waiting
  // for it (droplet runs hooks that call condenserd back). A wake-up that is not the exit gets
  // another wait instead of a blocking waitpid.
  int status = 0;
  for (int wakeups = 0;; ++wakeups) {
    boost::system::error_code ec;
    co_await pidfd.async_wait(asio::posix::descriptor_base::wait_read,
                              asio::redirect_error(asio::use_awaitable, ec));
    pid_t reaped = ::waitpid(pid, &status, WNOHANG);
    while (reaped < 0 && errno == EINTR) reaped = ::waitpid(pid, &status, WNOHANG);
    if (reaped == pid) break;
    if (reaped < 0) co_return fail_errno(fmt::format("waitpid {}", pid));
    raind::logger("condenser.process")
        ->debug("{} (pid {}) still running after wake-up {} of its pidfd ({})", argv[0], pid,
                wakeups + 1, ec ? ec.message() : std::string("no error"));
    if (ec) {
      // A failed wait would fail again at once: poll instead of spinning.
      asio::steady_timer pause(executor, std::chrono::milliseconds(20));
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
  }
  deadline.disarm();
  child.release();
  if (timed_out)
    co_return failf(Errc::timeout, "{} did not finish within {} ms", argv[0],
                    options.timeout.count());
  sys::RunResult result;
  result.status = decode(status);
  result.out = read_back(out->get(), options.max_output);
  result.err = read_back(err->get(), options.max_output);
  co_return result;
}

}  // namespace raind::condenser::system

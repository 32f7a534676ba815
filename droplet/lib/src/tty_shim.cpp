#include "tty_shim.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "raind/atomic_file.hpp"
#include "raind/attach_frame.hpp"
#include "raind/droplet/state.hpp"
#include "raind/sys/files.hpp"
#include "tty_proxy.hpp"

namespace raind::droplet {
namespace {

constexpr std::size_t kMaxClientBacklog = 1u << 20;

void null_stdio(int from_fd) {
  int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull < 0) return;
  for (int fd = from_fd; fd <= 2; ++fd) ::dup2(devnull, fd);
  ::close(devnull);
}

// A console log capped in size: at the cap the file moves to <log>.1 and a new one starts.
class CappedLog {
 public:
  CappedLog(std::filesystem::path path, std::size_t cap) : path_(std::move(path)), cap_(cap) {
    reopen();
  }
  void append(const char* data, std::size_t len) {
    if (!fd_) return;
    if (size_ + len > cap_) {
      std::filesystem::path old = path_.string() + ".1";
      ::rename(path_.c_str(), old.c_str());
      reopen();
      if (!fd_) return;
    }
    if (sys::write_all(fd_.get(), std::string_view(data, len))) size_ += len;
  }

 private:
  void reopen() {
    fd_.reset(::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640));
    size_ = 0;
  }
  std::filesystem::path path_;
  std::size_t cap_;
  UniqueFd fd_;
  std::size_t size_ = 0;
};

Result<UniqueFd> listen_unix(const std::filesystem::path& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return fail_errno("create attach socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.string().size() >= sizeof addr.sun_path)
    return failf(Errc::invalid_argument, "attach socket path {} is too long", path.string());
  std::memcpy(addr.sun_path, path.c_str(), path.string().size() + 1);
  ::unlink(path.c_str());
  mode_t old = ::umask(0177);  // 0600: only root attaches
  int rc = ::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0) return fail_errno(fmt::format("bind {}", path.string()));
  if (::listen(fd.get(), 4) != 0) return fail_errno(fmt::format("listen on {}", path.string()));
  return fd;
}

}  // namespace

Result<pid_t> launch_shim(std::function<Result<ShimSetup>()> setup, int stdio_pipe_write) {
  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0) return fail_errno("create shim report pipe");
  UniqueFd report_r(report[0]), report_w(report[1]);
  pid_t mid = ::fork();
  if (mid < 0) return fail_errno("fork shim");
  if (mid == 0) {
    report_r.reset();
    ::setsid();
    pid_t shim = ::fork();
    if (shim != 0) {
      // The shim's pid first, so the caller notices when the shim dies before its report: the
      // processes it spawns hold the pipe open until they exec, so no EOF would tell.
      if (shim > 0) (void)sys::write_all(report_w.get(), fmt::format("S{}\n", shim));
      ::_exit(shim < 0 ? 1 : 0);
    }
    // The shim: reaps whatever setup spawns once its intermediate parents exit.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    ::prctl(PR_SET_NAME, "droplet-shim");
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &mask, nullptr);  // for the signalfd: no exit is missed
    ::signal(SIGTERM, SIG_IGN);                // the container's lifetime decides, not the caller's
    ::signal(SIGINT, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    ::signal(SIGPIPE, SIG_IGN);
    null_stdio(0);
    if (stdio_pipe_write >= 0) {
      ::dup2(stdio_pipe_write, 1);
      ::dup2(stdio_pipe_write, 2);
    }
    // One line: processes spawned by setup hold copies of the pipe until they exec, so the
    // caller reads up to the newline instead of waiting for EOF.
    auto reply = [&](std::string text) {
      for (auto& c : text)
        if (c == '\n') c = ' ';
      (void)sys::write_all(report_w.get(), text + "\n");
      report_w.reset();
    };
    Result<ShimSetup> made = [&]() -> Result<ShimSetup> {
      try {
        return setup();
      } catch (const std::exception& e) {
        return failf(Errc::internal, "shim setup: {}", e.what());
      }
    }();
    null_stdio(1);
    if (stdio_pipe_write >= 0) ::close(stdio_pipe_write);
    if (!made) {
      reply("E" + made.error().what());
      ::_exit(1);
    }
    ShimSetup s = std::move(*made);
    // Listening before create returns: a client may attach the moment it does.
    if (s.pty_master) {
      auto l = listen_unix(s.paths.attach_socket);
      if (!l) {
        ::kill(s.main_pid, SIGKILL);
        reply("E" + l.error().what());
        ::_exit(1);
      }
      s.listener = std::move(*l);
    }
    reply(fmt::format("P{}", s.main_pid));
    auto served = serve_shim(s);
    ::_exit(served ? 0 : 1);
  }
  report_w.reset();
  int st = 0;
  while (::waitpid(mid, &st, 0) < 0 && errno == EINTR) {
  }
  // Lines: "S<shim pid>", then the shim's own "P<pid>" or "E<error>".
  std::string text;
  UniqueFd shim_exit;  // pidfd of the shim, readable once it has exited
  char buf[4096];
  auto reported = [&]() -> std::optional<std::string> {
    std::size_t start = 0;
    for (std::size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
      std::string line = text.substr(start, end - start);
      if (!line.empty() && (line[0] == 'P' || line[0] == 'E')) return line;
      if (!shim_exit && line.size() > 1 && line[0] == 'S')
        shim_exit.reset(static_cast<int>(::syscall(SYS_pidfd_open, std::stoi(line.substr(1)), 0)));
    }
    return std::nullopt;
  };
  std::optional<std::string> line;
  bool shim_gone = false;
  while (!(line = reported()) && !shim_gone) {
    pollfd p[2] = {{report_r.get(), POLLIN, 0}, {shim_exit ? shim_exit.get() : -1, POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return fail_errno("wait for the tty shim");
    }
    // The shim exited: whatever it wrote is in the pipe already; read that, then stop.
    shim_gone = p[1].revents != 0;
    if (shim_gone) ::fcntl(report_r.get(), F_SETFL, O_NONBLOCK);
    if (p[0].revents == 0 && !shim_gone) continue;
    for (;;) {
      ssize_t n = ::read(report_r.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) text.append(buf, static_cast<std::size_t>(n));
      if (n <= 0 || !shim_gone) {
        if (n == 0) shim_gone = true;  // EOF: nobody holds the pipe any more
        break;
      }
    }
  }
  if (!line) return fail(Errc::system, "tty shim exited before reporting");
  if ((*line)[0] == 'E') return fail(Errc::system, line->substr(1));
  return static_cast<pid_t>(std::stol(line->substr(1)));
}

Result<pid_t> launch_process_shim(const std::function<Result<pid_t>(int console_fd)>& start,
                                  const std::function<ShimPaths(pid_t main_pid, bool tty)>& paths) {
  int console_pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, console_pair) != 0)
    return fail_errno("create console socket pair");
  UniqueFd console_ours(console_pair[0]), console_theirs(console_pair[1]);
  int out_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return fail_errno("create output pipe");
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  return launch_shim(
      [&]() -> Result<ShimSetup> {
        RAIND_TRY_ASSIGN(pid_t pid, start(console_theirs.get()));
        console_theirs.reset();
        out_w.reset();
        ShimSetup s;
        s.main_pid = pid;
        // A terminal process has sent its pty master before start returned.
        auto master = recv_fd(console_ours.get(), /*nonblocking=*/true);
        if (master)
          s.pty_master = std::move(*master);
        else
          s.output = std::move(out_r);
        s.paths = paths(pid, static_cast<bool>(s.pty_master));
        return s;
      },
      out_w.get());
}

Status serve_shim(ShimSetup& s) {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  UniqueFd sigfd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!sigfd) return fail_errno("signalfd");
  const bool tty = static_cast<bool>(s.pty_master);
  int out_fd = tty ? s.pty_master.get() : s.output.get();
  if (out_fd >= 0) ::fcntl(out_fd, F_SETFL, ::fcntl(out_fd, F_GETFL) | O_NONBLOCK);
  UniqueFd listener = std::move(s.listener);
  if (tty && !listener) {
    RAIND_TRY_ASSIGN(listener, listen_unix(s.paths.attach_socket));
  }
  CappedLog log(s.paths.console_log, s.paths.log_cap_bytes);

  UniqueFd client;
  attach::FrameDecoder decoder;
  std::string to_client, to_pty;
  bool output_open = out_fd >= 0;
  bool main_exited = false;
  int main_status = 0;
  auto drop_client = [&] {
    client.reset();
    to_client.clear();
    decoder = attach::FrameDecoder();
  };
  auto exited_at = std::chrono::steady_clock::time_point();

  // Reap anything the main pid may already have done before the signalfd existed.
  auto reap = [&] {
    for (;;) {
      int st = 0;
      pid_t p = ::waitpid(-1, &st, WNOHANG);
      if (p <= 0) break;
      if (p == s.main_pid) {
        main_exited = true;
        main_status = st;
        exited_at = std::chrono::steady_clock::now();
      }
    }
  };
  reap();
  while (true) {
    if (main_exited) {
      // Output still buffered in the pty is drained, bounded: a background process holding
      // the terminal open must not keep the shim alive.
      if (!output_open ||
          std::chrono::steady_clock::now() - exited_at > std::chrono::milliseconds(200))
        break;
    }
    pollfd p[4];
    nfds_t n = 0;
    p[n++] = {sigfd.get(), POLLIN, 0};
    int i_listen = -1, i_client = -1, i_out = -1;
    if (listener) {
      i_listen = static_cast<int>(n);
      p[n++] = {listener.get(), POLLIN, 0};
    }
    if (client) {
      i_client = static_cast<int>(n);
      p[n++] = {client.get(), static_cast<short>(POLLIN | (to_client.empty() ? 0 : POLLOUT)), 0};
    }
    if (output_open) {
      i_out = static_cast<int>(n);
      p[n++] = {out_fd, static_cast<short>(POLLIN | (to_pty.empty() ? 0 : POLLOUT)), 0};
    }
    int rc = ::poll(p, n, main_exited ? 20 : -1);
    if (rc < 0 && errno != EINTR) return fail_errno("shim poll");
    if (p[0].revents & POLLIN) {
      signalfd_siginfo info;
      while (::read(sigfd.get(), &info, sizeof info) == sizeof info) {
      }
      reap();
    }
    if (i_listen >= 0 && (p[i_listen].revents & POLLIN)) {
      int c = ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (c >= 0) {
        drop_client();  // one attached client at a time: the newest wins
        client.reset(c);
      }
    }
    if (i_client >= 0 && client) {
      short re = p[i_client].revents;
      if (re & POLLIN) {
        char buf[16384];
        ssize_t r = ::read(client.get(), buf, sizeof buf);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
          drop_client();  // detach
        } else if (r > 0) {
          decoder.feed(std::string_view(buf, static_cast<std::size_t>(r)));
          for (;;) {
            auto f = decoder.next();
            if (!f) {
              drop_client();
              break;
            }
            if (!*f) break;
            if ((*f)->type == attach::FrameType::resize) {
              winsize ws{};
              ws.ws_row = (*f)->rows;
              ws.ws_col = (*f)->cols;
              if (tty) ::ioctl(s.pty_master.get(), TIOCSWINSZ, &ws);
            } else if (tty) {
              to_pty += (*f)->payload;
              if (to_pty.size() > kMaxClientBacklog)
                to_pty.erase(0, to_pty.size() - kMaxClientBacklog);
            }
          }
        }
      } else if (re & (POLLHUP | POLLERR)) {
        drop_client();
      }
      if (client && !to_client.empty() && (re & POLLOUT)) {
        ssize_t w = ::send(client.get(), to_client.data(), to_client.size(), MSG_NOSIGNAL);
        if (w > 0)
          to_client.erase(0, static_cast<std::size_t>(w));
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
          drop_client();
      }
    }
    if (i_out >= 0) {
      short re = p[i_out].revents;
      if (re & POLLIN) {
        char buf[16384];
        ssize_t r = ::read(out_fd, buf, sizeof buf);
        if (r > 0) {
          log.append(buf, static_cast<std::size_t>(r));
          if (client) {
            to_client.append(buf, static_cast<std::size_t>(r));
            // A client that does not read must not make the shim grow without bound.
            if (to_client.size() > kMaxClientBacklog) drop_client();
          }
        } else if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
          output_open = false;  // EIO: every slave fd closed; EOF: the pipe's writers are gone
        }
      } else if (re & (POLLHUP | POLLERR)) {
        if (!(re & POLLIN)) output_open = false;
      }
      if (output_open && !to_pty.empty() && (re & POLLOUT)) {
        ssize_t w = ::write(out_fd, to_pty.data(), to_pty.size());
        if (w > 0) to_pty.erase(0, static_cast<std::size_t>(w));
      }
    }
    // Flush what the client can take now, without waiting for the next poll round.
    if (client && !to_client.empty()) {
      ssize_t w = ::send(client.get(), to_client.data(), to_client.size(), MSG_NOSIGNAL);
      if (w > 0) to_client.erase(0, static_cast<std::size_t>(w));
    }
  }
  nlohmann::json status = {{"pid", s.main_pid},
                           {"exit_code", WIFEXITED(main_status) ? WEXITSTATUS(main_status)
                                                                : 128 + WTERMSIG(main_status)},
                           {"signal", WIFSIGNALED(main_status) ? WTERMSIG(main_status) : 0},
                           {"exited_at", now_rfc3339()}};
  if (listener) ::unlink(s.paths.attach_socket.c_str());
  // The state directory may already be gone (delete): nothing to record then.
  (void)write_file_atomic(s.paths.exit_status, status.dump(), 0644, Durability::atomic_only);
  return ok();
}

}  // namespace raind::droplet

#include "tty_proxy.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>

namespace raind::droplet {

Result<UniqueFd> recv_fd(int sock, bool nonblocking) {
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | (nonblocking ? MSG_DONTWAIT : 0));
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail_errno("receive fd");
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (!c || c->cmsg_type != SCM_RIGHTS) return fail(Errc::system, "no fd received");
  int fd;
  std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return UniqueFd(fd);
}

namespace {

struct Proxy {
  UniqueFd master;
  UniqueFd wake_r, wake_w;
  std::thread thread;
  bool restore = false;
  termios saved{};
};
Proxy* g_proxy = nullptr;

void copy_loop(Proxy* p) {
  char buf[8192];
  bool stdin_open = true;
  for (;;) {
    pollfd fds[3] = {{p->master.get(), POLLIN, 0},
                     {p->wake_r.get(), POLLIN, 0},
                     {0, static_cast<short>(stdin_open ? POLLIN : 0), 0}};
    if (::poll(fds, stdin_open ? 3 : 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(p->master.get(), buf, sizeof buf);
      if (n <= 0) return;  // EIO: every slave fd is closed
      ssize_t off = 0;
      while (off < n) {
        ssize_t w = ::write(1, buf + off, static_cast<std::size_t>(n - off));
        if (w <= 0) break;
        off += w;
      }
    }
    if (fds[1].revents) return;
    if (stdin_open && (fds[2].revents & (POLLIN | POLLHUP))) {
      ssize_t n = ::read(0, buf, sizeof buf);
      if (n <= 0) {
        stdin_open = false;
        continue;
      }
      ssize_t w = ::write(p->master.get(), buf, static_cast<std::size_t>(n));
      (void)w;
    }
  }
}

}  // namespace

Status start_tty_proxy(UniqueFd console_peer) {
  RAIND_TRY_ASSIGN(UniqueFd master, recv_fd(console_peer.get()));
  auto* p = new Proxy;
  p->master = std::move(master);
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    delete p;
    return fail_errno("create pipe");
  }
  p->wake_r.reset(pipefd[0]);
  p->wake_w.reset(pipefd[1]);
  if (::isatty(0) && ::tcgetattr(0, &p->saved) == 0) {
    termios raw = p->saved;
    ::cfmakeraw(&raw);
    if (::tcsetattr(0, TCSANOW, &raw) == 0) p->restore = true;
  }
  p->thread = std::thread(copy_loop, p);
  g_proxy = p;
  return ok();
}

void stop_tty_proxy() {
  Proxy* p = g_proxy;
  if (!p) return;
  g_proxy = nullptr;
  // Give the copier a moment to drain the last output (EIO ends it on its own).
  for (int i = 0; i < 50; ++i) {
    pollfd f{p->master.get(), POLLIN, 0};
    if (::poll(&f, 1, 10) <= 0) break;
    if (!(f.revents & POLLIN)) break;
  }
  char b = 1;
  ssize_t w = ::write(p->wake_w.get(), &b, 1);
  (void)w;
  if (p->thread.joinable()) p->thread.join();
  if (p->restore) ::tcsetattr(0, TCSANOW, &p->saved);
  delete p;
}

}  // namespace raind::droplet

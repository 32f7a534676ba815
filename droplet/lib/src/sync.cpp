#include "sync.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace raind::droplet::sync {

int send(int fd, Type type, std::int32_t value, std::int32_t err, const char* stage,
         const void* payload, std::size_t payload_len) noexcept {
  Header h{};
  h.type = type;
  h.value = value;
  h.err = err;
  std::strncpy(h.stage, stage ? stage : "", sizeof h.stage - 1);
  if (payload_len > kMaxPayload) payload_len = kMaxPayload;
  iovec iov[2] = {{&h, sizeof h}, {const_cast<void*>(payload), payload_len}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = payload_len ? 2 : 1;
  for (;;) {
    ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (n >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

int recv(int fd, Header* header, void* payload, std::size_t payload_cap,
         std::size_t* payload_len) noexcept {
  iovec iov[2] = {{header, sizeof *header}, {payload, payload_cap}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = (payload && payload_cap) ? 2 : 1;
  for (;;) {
    ssize_t n = ::recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
    if (n == 0) return -EPIPE;
    if (n < 0) {
      if (errno == EINTR) continue;
      // A peer that exits with our messages unread leaves ECONNRESET pending, and the kernel
      // reports it before the messages the peer sent (e.g. its error report); reading again
      // returns those messages and then EOF.
      if (errno == ECONNRESET) continue;
      return -errno;
    }
    if (static_cast<std::size_t>(n) < sizeof *header) return -EPROTO;
    if (payload_len) *payload_len = static_cast<std::size_t>(n) - sizeof *header;
    header->stage[sizeof header->stage - 1] = '\0';
    return 0;
  }
}

}  // namespace raind::droplet::sync

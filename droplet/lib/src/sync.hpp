#pragma once
// Typed messages between droplet (parent) and the container init over a SOCK_SEQPACKET pair.
// The child side uses only these allocation-free functions: fixed header + optional payload.
#include <cstddef>
#include <cstdint>

namespace raind::droplet::sync {

enum class Type : std::uint32_t {
  cgroup_joined = 1,  // parent → child: init is in its cgroup; payload: v1 cgroup bind list
  ready_for_idmap,    // child → parent: user namespace exists, write the maps
  idmap_done,         // parent → child
  init_pid,           // child (stage 1) → parent: value = pid of the real init
  hooks_request,      // child → parent: namespaces and mounts exist, run create hooks now
  hooks_done,         // parent → child
  ready,              // child → parent: init is set up, about to wait on exec.fifo
  start_info,         // parent → child: payload = state JSON for startContainer hooks
  error,              // child → parent: stage + errno + message
  abort,              // parent → child: give up
  cgroup_self_join,   // parent → child: payload = '\n'-separated files to write "0" to
  cgroup_self_joined,
  config_digest,  // parent → child: payload = sha256 hex of config.json as create read it  // child
                  // → parent: done; the parent now sends cgroup_joined
};

struct Header {
  Type type;
  std::int32_t value;
  std::int32_t err;
  char stage[52];
};

inline constexpr std::size_t kMaxPayload = 60 * 1024;

// Returns 0 or -errno.
int send(int fd, Type type, std::int32_t value = 0, std::int32_t err = 0, const char* stage = "",
         const void* payload = nullptr, std::size_t payload_len = 0) noexcept;
// Receives one message into header/payload; *payload_len gets the payload size. Returns 0,
// -errno, or -EPIPE on EOF (peer gone).
int recv(int fd, Header* header, void* payload, std::size_t payload_cap,
         std::size_t* payload_len) noexcept;

}  // namespace raind::droplet::sync

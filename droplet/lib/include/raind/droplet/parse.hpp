#pragma once
// Pure parsers shared by the CLI and the runtime: container ids, signal names, mount options.
// No effects here, so everything is unit-testable without root.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raind/error.hpp"

namespace raind::droplet {

// runc's rule: ^[\w+\-.]+$ and neither "." nor "..".
Status validate_container_id(std::string_view id);

// "KILL", "SIGKILL", "kill", "9", "SIGRTMIN+3" → signal number. Errors name the input.
Result<int> parse_signal(std::string_view text);

// Mount options split into flags for mount(2), the propagation change to apply afterwards, and
// the data string passed to the filesystem (unknown keywords).
struct MountOptions {
  unsigned long flags = 0;        // MS_* applied when mounting (incl. MS_BIND/MS_REC)
  unsigned long propagation = 0;  // MS_PRIVATE/MS_SHARED/MS_SLAVE/MS_UNBINDABLE (| MS_REC)
  std::string data;               // comma-joined filesystem-specific options
  bool bind = false;
  bool recursive_bind = false;
  bool tmpcopyup = false;
  // Flags the caller asked for that a plain bind mount ignores (ro, nosuid, ...) — a bind needs
  // a second MS_REMOUNT|MS_BIND pass to apply them (the original lost bind "ro" this way).
  unsigned long bind_remount_flags = 0;
};
MountOptions parse_mount_options(const std::vector<std::string>& options);

// Root propagation keyword ("rprivate", "slave", ...) → MS_* flags; empty → MS_PRIVATE|MS_REC.
Result<unsigned long> parse_propagation(std::string_view keyword);

// Normalises an absolute container path ("/a/../b//c" → "b/c", no leading slash, ".." clamped at
// the root) so it can be resolved relative to the rootfs.
std::string clean_container_path(std::string_view path);

// "ro,nosuid" style numeric user spec "uid[:gid]" for exec --user.
Result<std::pair<std::uint32_t, std::optional<std::uint32_t>>> parse_user_spec(
    std::string_view text);

}  // namespace raind::droplet

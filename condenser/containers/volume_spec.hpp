#pragma once
// Bind-mounted volumes (`-v host:ctr[:ro|rw]`) and the guard that keeps a container from seeing
// the host's secrets. The guard works on the *resolved* source (symlinks followed), so a link to
// /etc/raind is refused like /etc/raind itself, and the resolved path is what gets mounted.
// A source that contains a protected path (/, /etc, /var …) is refused too: mounting /var would
// expose /var/lib/raind just the same.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "raind/error.hpp"
#include "raind/oci/runtime_spec.hpp"

namespace raind::condenser::containers {

struct VolumeRequest {
  std::string source;       // as typed
  std::string destination;  // as typed
  bool read_only = false;
};

// Syntax only: exactly "host:ctr" or "host:ctr:ro|rw", both parts non-empty.
Result<VolumeRequest> parse_volume_spec(std::string_view text);

// Resolves a path the way the kernel will see it at mount time (all symlinks followed);
// Errc::not_found when it does not exist.
using PathResolver = std::function<Result<std::string>(const std::string& path)>;
Result<std::string> resolve_real_path(const std::string& path);  // realpath(3)

struct VolumeGuard {
  // Sources that must not be mounted, nor anything under them, nor anything containing them.
  std::vector<std::string> denied_sources = {"/etc/raind", "/var/lib/raind", "/run/raind", "/proc",
                                             "/sys",       "/dev",           "/boot"};
  // Destinations where the runtime mounts kernel file systems and masks paths.
  std::vector<std::string> denied_destinations = {"/proc", "/sys", "/dev"};
  PathResolver resolve = resolve_real_path;
};

struct Volume {
  std::string source;       // resolved, absolute
  std::string destination;  // normalised, absolute
  bool read_only = false;
  // A recursive private bind; "ro" when read-only. No noexec: volumes often hold programs.
  oci::Mount to_mount() const;
};

// "/a//b/./c/" -> "/a/b/c"; refuses relative paths, ".." components and "/" itself.
Result<std::string> normalize_container_path(std::string_view path);

Result<Volume> check_volume(const VolumeRequest& request, const VolumeGuard& guard);
// Parses and checks every spec; two volumes on one destination are an error.
Result<std::vector<Volume>> parse_volumes(const std::vector<std::string>& texts,
                                          const VolumeGuard& guard);

}  // namespace raind::condenser::containers

#pragma once
// Everything the container init needs, computed in the parent before clone(). The child is a
// fork of the parent (no CLONE_VM), so it reads this structure directly; it only calls
// .c_str()/.data() on it and never allocates or throws while setting up.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "raind/error.hpp"
#include "raind/oci/runtime_spec.hpp"
#include "raind/droplet/security.hpp"
#include "raind/unique_fd.hpp"

namespace raind::droplet {

// A path inside the rootfs prepared for safe resolution: the cleaned relative path and every
// prefix ("a", "a/b", "a/b/c") for the create-missing walk.
struct RootPath {
  std::string rel;  // "" means the rootfs itself
  std::vector<std::string> prefixes;
  std::vector<std::string> names;  // last component of each prefix
};
RootPath make_root_path(std::string_view container_path);

enum class MountKind { normal, bind, cgroup_v1, cgroup2, sysfs };

struct PlannedMount {
  MountKind kind = MountKind::normal;
  std::string source;  // absolute host path for binds; fs source otherwise
  std::string type;
  RootPath dest;
  std::string dest_abs;  // "/dest" for messages
  unsigned long flags = 0;
  unsigned long propagation = 0;
  unsigned long remount_flags = 0;  // second pass for binds (ro, nosuid, ...)
  bool needs_remount = false;
  std::string data;
  bool source_is_dir = true;
  bool tmpcopyup = false;
};

struct PlannedDevice {
  RootPath path;
  RootPath dir;           // parent directory
  std::string name;       // last component
  std::string host_path;  // for bind mounting inside a user namespace
  mode_t mode = 0;        // S_IFCHR/S_IFBLK/S_IFIFO | permissions
  dev_t dev = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct PlannedSymlink {
  RootPath path;
  RootPath dir;
  std::string name;
  std::string target;
};

// The user process: shared by the container init and `droplet exec`.
struct ProcessPlan {
  oci::Process process;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::vector<char*> argv;             // null-terminated, points into args
  std::vector<char*> envp;             // null-terminated, points into env
  std::vector<std::string> path_dirs;  // from the process env's PATH
  std::string cwd;
  RootPath cwd_root;        // for creating a missing cwd before pivot
  std::string resolved;     // buffer for the PATH lookup result
  int preserve_fds = 0;     // fds 3..3+n-1 are passed through
  bool listen_fds = false;  // set LISTEN_PID in env to the process's own pid
  std::size_t listen_pid_index = 0;
  std::string listen_pid_buf;  // reserved storage for "LISTEN_PID=<pid>"
  bool terminal = false;
  std::optional<oci::ConsoleSize> console_size;
  std::vector<gid_t> supplementary_gids;
  // Compiled in the parent (seccomp BPF, capability masks, rlimits); applied in the child.
  std::shared_ptr<PreparedProcessSecurity> security;

  void finalize_arrays();  // builds argv/envp after args/env are final
};

struct JoinNamespace {
  int nstype = 0;  // CLONE_NEW*
  int fd = -1;     // opened by the parent
};

struct InitPlan {
  std::string id;
  std::string rootfs;  // absolute host path
  bool new_mount_ns = false;
  int clone_flags = 0;  // namespaces created at clone/unshare (no cgroup, no time)
  bool new_userns = false;
  bool new_cgroupns = false;
  bool new_timens = false;
  bool two_stage = false;  // namespaces to join or a time namespace: unshare + second fork
  std::vector<JoinNamespace> joins;  // user first
  std::string time_offsets;          // content for /proc/self/timens_offsets
  bool root_mapped = true;           // container uid/gid 0 is mapped (setresuid(0) after idmap)

  // io.raind.image.config: an overlay mounted at `rootfs` inside the container's mount namespace
  // before anything else (it disappears with the namespace: nothing to clean up on the host).
  bool overlay = false;
  std::vector<std::string> overlay_lower;  // top first
  std::string overlay_upper, overlay_work;
  std::string overlay_data;       // mount(2) fallback: "lowerdir=...,upperdir=...,workdir=..."
  std::string overlay_data_base;  // non-empty: overlay_data is relative to this directory

  std::string bundle;            // absolute; config.json is re-read from here
  int bundle_fd = -1;            // child-side: O_PATH of the bundle, opened before pivot_root
  char config_digest[65] = {0};  // from the parent over the sync socket
  // io.raind.integrity=strict: the init re-checks config.json when `start` releases it too.
  // (Plain OCI: edits after create must not affect the container, so it is opt-in.)
  bool strict_integrity = false;

  unsigned long root_propagation = 0;
  // Without a mount namespace the rootfs has no /proc of its own: the exec fifo is reopened
  // through this /proc/self/fd directory, opened before chroot (child-side only).
  int proc_self_fd_dir = -1;
  // Mount point holding the rootfs's parent directory: made private when the root propagation
  // is shared, because pivot_root refuses a new root whose parent mount is shared.
  std::string rootfs_parent_mount;
  std::vector<PlannedMount> mounts;
  std::vector<PlannedDevice> devices;
  std::vector<PlannedSymlink> symlinks;
  bool mount_devpts = false;  // no /dev/pts in mounts but /dev is a fresh tmpfs
  bool mount_shm = false;
  bool readonly_root = false;
  bool no_pivot = false;
  std::vector<std::string> masked_paths;  // absolute, inside the container
  std::vector<std::string> readonly_paths;
  std::optional<std::string> hostname;
  std::optional<std::string> domainname;
  std::vector<std::pair<std::string, std::string>> sysctl;  // /proc/sys path, value
  bool want_hooks_pause = false;
  std::optional<unsigned long>
      personality;  // linux.personality domain (PER_LINUX / PER_LINUX32)  //
                    // prestart/createRuntime/createContainer hooks exist

  ProcessPlan proc;
  std::vector<oci::Hook> start_hooks;

  // fds, all O_CLOEXEC and above the preserved range
  int sync_fd = -1;
  int fifo_fd = -1;     // O_PATH on exec.fifo
  int console_fd = -1;  // connected console socket, or -1

  // Receive buffer for parent messages (state JSON, cgroup bind list).
  std::vector<char> buffer;
  std::size_t buffer_len = 0;
  bool cgroup_notice = false;  // cgroup_joined received
  bool cgroup_joined = false;  // ... and acted upon (cgroup namespace created)
  std::string cgroup_binds;    // received "host\tdest\n" lines (cgroup v1 mounts)
};

}  // namespace raind::droplet

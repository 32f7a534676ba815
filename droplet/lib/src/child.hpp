#pragma once
// Child-side helpers (between clone and execve): no exceptions, no allocation. Failures are
// reported to the parent over the sync socket as typed error messages, then the child exits.
#include <cstdarg>

#include "plan.hpp"

namespace raind::droplet::child {

// Reports an error (to the parent when the sync socket is open, else to stderr) and _exit(1)s.
[[noreturn]] void die(const InitPlan& plan, const char* stage, int err, const char* fmt, ...)
    __attribute__((format(printf, 4, 5)));

// openat2(rootfd, rel, RESOLVE_IN_ROOT): symlinks resolve as if rootfd were "/".
int open_in_root(int rootfd, const char* rel, int flags) noexcept;
// Resolves path inside the rootfs, creating missing components (directories, or an empty file
// for the last one when !dir). Returns an O_PATH fd of the final node, or -errno.
int ensure_in_root(int rootfd, const RootPath& path, bool dir) noexcept;

// MS_* flags a remount must keep (locked in a user namespace): from statvfs.
unsigned long locked_flags(const char* path) noexcept;

// Mount phase (before pivot): rootfs bind, spec mounts, devices, symlinks. cgroup mounts are
// left for setup_cgroup_mounts(): they need the parent to have placed us in our cgroup, which
// it does concurrently with the work before (moving a task between v1 cgroups costs an RCU
// grace period, ~20 ms, the largest single cost of a container start).
void setup_mounts(InitPlan& plan, int rootfd);
void setup_cgroup_mounts(InitPlan& plan, int rootfd);
void setup_devices(InitPlan& plan, int rootfd);
// Pivot into the rootfs (or MS_MOVE + chroot with --no-pivot).
void enter_rootfs(InitPlan& plan);
// After pivot: readonly/masked paths, root readonly.
void finalize_rootfs(InitPlan& plan);

// Handles a cgroup_self_join message whose payload (len bytes) is in plan.buffer: writes "0"
// to each listed file, then acknowledges with cgroup_self_joined.
void self_join_cgroup(InitPlan& plan, std::size_t len);

// Entry point of the cloned child; never returns.
[[noreturn]] void init_main(InitPlan& plan);

// Sends fd over a connected unix socket (SCM_RIGHTS). Returns 0 or -errno.
int send_fd(int sock, int fd) noexcept;

}  // namespace raind::droplet::child

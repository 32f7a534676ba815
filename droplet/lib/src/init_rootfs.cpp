// Container rootfs construction, run inside the init child before execve. Every destination is
// resolved with openat2(RESOLVE_IN_ROOT) so a symlink planted in the image cannot redirect a
// mount outside the rootfs; the mount itself targets /proc/self/fd/N of the resolved node.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "child.hpp"

namespace raind::droplet::child {

int open_in_root(int rootfd, const char* rel, int flags) noexcept {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char* p = (rel && *rel) ? rel : ".";
  for (;;) {
    long fd = ::syscall(SYS_openat2, rootfd, p, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno == EINTR || errno == EAGAIN) continue;
    return -errno;
  }
}

int ensure_in_root(int rootfd, const RootPath& path, bool dir) noexcept {
  char cur[PATH_MAX];
  if (path.rel.size() >= sizeof cur) return -ENAMETOOLONG;
  std::memcpy(cur, path.rel.c_str(), path.rel.size() + 1);
  // Each round walks the path component by component, creating what is missing in its safely
  // resolved parent. A dangling symlink is followed *inside* the rootfs by rewriting the path
  // with its target and starting over (bounded like the kernel's symlink limit).
  for (int round = 0; round < 40; ++round) {
    int fd = open_in_root(rootfd, cur, O_PATH);
    if (fd >= 0 || fd != -ENOENT) return fd;
    std::size_t len = std::strlen(cur);
    std::size_t pos = 0;
    bool restarted = false;
    while (pos < len && !restarted) {
      std::size_t end = pos;
      while (end < len && cur[end] != '/') ++end;
      char saved = cur[end];
      cur[end] = '\0';
      int comp = open_in_root(rootfd, cur, O_PATH);
      cur[end] = saved;
      if (comp >= 0) {
        ::close(comp);
        pos = end + 1;
        continue;
      }
      if (comp != -ENOENT) return comp;
      char parent_path[PATH_MAX];
      std::size_t plen = pos ? pos - 1 : 0;
      std::memcpy(parent_path, cur, plen);
      parent_path[plen] = '\0';
      int parent = open_in_root(rootfd, parent_path, O_PATH | O_DIRECTORY);
      if (parent < 0) return parent;
      char name[NAME_MAX + 1];
      std::size_t nlen = end - pos;
      if (nlen > NAME_MAX) {
        ::close(parent);
        return -ENAMETOOLONG;
      }
      std::memcpy(name, cur + pos, nlen);
      name[nlen] = '\0';
      bool last = end >= len;
      int rc = (last && !dir) ? ::mknodat(parent, name, S_IFREG | 0644, 0)
                              : ::mkdirat(parent, name, 0755);
      int err = rc == 0 ? 0 : errno;
      if (err == EEXIST) {
        char target[PATH_MAX];
        ssize_t t = ::readlinkat(parent, name, target, sizeof target - 1);
        ::close(parent);
        if (t <= 0) return -ENOENT;
        target[t] = '\0';
        char next[PATH_MAX];
        const char* rest = cur + end;  // "" or "/more/components"
        int n;
        if (target[0] == '/') {
          n = std::snprintf(next, sizeof next, "%s%s", target + 1, rest);
        } else {
          n = std::snprintf(next, sizeof next, "%s%s%s%s", parent_path, plen ? "/" : "", target,
                            rest);
        }
        if (n < 0 || static_cast<std::size_t>(n) >= sizeof next) return -ENAMETOOLONG;
        std::memcpy(cur, next, std::strlen(next) + 1);
        restarted = true;
        continue;
      }
      ::close(parent);
      if (err) return -err;
      pos = end + 1;
    }
    if (!restarted) return open_in_root(rootfd, cur, O_PATH);
  }
  return -ELOOP;
}

unsigned long locked_flags(const char* path) noexcept {
  struct statvfs sv {};
  if (::statvfs(path, &sv) != 0) return 0;
  unsigned long f = 0;
  if (sv.f_flag & ST_NOSUID) f |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) f |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) f |= MS_NOEXEC;
  if (sv.f_flag & ST_NOATIME) f |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) f |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) f |= MS_RELATIME;
  if (sv.f_flag & ST_RDONLY) f |= MS_RDONLY;
  return f;
}

namespace {

struct FdPath {
  char buf[64];
  explicit FdPath(int fd) { std::snprintf(buf, sizeof buf, "/proc/self/fd/%d", fd); }
  const char* c_str() const { return buf; }
};

void close_fd(int fd) {
  if (fd >= 0) ::close(fd);
}

// Remount a bind mount at (already resolved) dest with extra flags, keeping locked ones.
int remount_bind(const char* target, unsigned long flags) noexcept {
  unsigned long keep = locked_flags(target) & ~MS_RDONLY;
  if (::mount(nullptr, target, nullptr, MS_REMOUNT | MS_BIND | flags | keep, nullptr) == 0)
    return 0;
  return -errno;
}

// v1 cgroup hierarchies inside /sys/fs/cgroup: a tmpfs with one bind per hierarchy (the
// container's own cgroup directory) and symlinks for co-mounted controllers. The list comes
// from the parent, which knows where the init was placed.
void mount_cgroup_v1(InitPlan& plan, const PlannedMount& m, int rootfd, int target_fd) {
  FdPath target(target_fd);
  unsigned long base = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (::mount("tmpfs", target.c_str(), "tmpfs", base, "mode=755") != 0)
    die(plan, "mount", errno, "mount cgroup tmpfs on %s", m.dest_abs.c_str());
  char* p = plan.cgroup_binds.data();
  char* end = p + plan.cgroup_binds.size();
  char rel[4096];
  while (p < end) {
    char* nl = static_cast<char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (!nl) break;
    *nl = '\0';
    char kind = p[0];
    char* first = p + 2;
    char* tab = std::strchr(first, '\t');
    if (!tab) break;
    *tab = '\0';
    char* name = tab + 1;
    int dir = open_in_root(rootfd, m.dest.rel.c_str(), O_PATH | O_DIRECTORY);
    if (dir < 0) die(plan, "mount", -dir, "open %s", m.dest_abs.c_str());
    if (kind == 'L') {
      (void)!::symlinkat(first, dir, name);  // an existing link is fine
    } else if (::mkdirat(dir, name, 0755) == 0 || errno == EEXIST) {
      std::snprintf(rel, sizeof rel, "%s/%s", m.dest.rel.c_str(), name);
      int sub = open_in_root(rootfd, rel, O_PATH | O_DIRECTORY);
      if (sub >= 0) {
        FdPath subp(sub);
        if (::mount(first, subp.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
          die(plan, "mount", errno, "bind cgroup %s on %s/%s", first, m.dest_abs.c_str(), name);
        close_fd(sub);
        sub = open_in_root(rootfd, rel, O_PATH | O_DIRECTORY);
        FdPath again(sub);
        remount_bind(again.c_str(), (m.flags & MS_RDONLY) | base);
        close_fd(sub);
      }
    }
    close_fd(dir);
    p = nl + 1;
  }
  if (m.flags & MS_RDONLY) {
    int again = open_in_root(rootfd, m.dest.rel.c_str(), O_PATH | O_DIRECTORY);
    FdPath t(again);
    ::mount(nullptr, t.c_str(), nullptr, MS_REMOUNT | MS_RDONLY | base, "mode=755");
    close_fd(again);
  }
}

void mount_one(InitPlan& plan, const PlannedMount& m, int rootfd) {
  int fd = ensure_in_root(rootfd, m.dest, m.source_is_dir);
  if (fd < 0) die(plan, "mount", -fd, "resolve mount destination %s", m.dest_abs.c_str());
  FdPath target(fd);
  switch (m.kind) {
    case MountKind::cgroup_v1:
      mount_cgroup_v1(plan, m, rootfd, fd);
      close_fd(fd);
      return;
    case MountKind::bind:
      if (::mount(m.source.c_str(), target.c_str(), nullptr, m.flags & (MS_BIND | MS_REC),
                  nullptr) != 0)
        die(plan, "mount", errno, "bind mount %s on %s", m.source.c_str(), m.dest_abs.c_str());
      break;
    case MountKind::sysfs:
    case MountKind::cgroup2:
    case MountKind::normal: {
      const char* data = m.data.empty() ? nullptr : m.data.c_str();
      if (::mount(m.source.c_str(), target.c_str(), m.type.c_str(), m.flags, data) != 0) {
        int err = errno;
        // sysfs needs a network namespace owned by our user namespace; fall back to a bind of
        // the host's /sys like other runtimes do.
        if (m.kind == MountKind::sysfs && (err == EPERM || err == EBUSY)) {
          if (::mount("/sys", target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
            die(plan, "mount", errno, "bind /sys on %s", m.dest_abs.c_str());
          break;
        }
        // cgroup2 needs a cgroup namespace owned by our user namespace: bind the host's
        // hierarchy read-only instead.
        if (m.kind == MountKind::cgroup2 && (err == EPERM || err == EBUSY)) {
          if (::mount("/sys/fs/cgroup", target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
            die(plan, "mount", errno, "bind /sys/fs/cgroup on %s", m.dest_abs.c_str());
          close_fd(fd);
          int top = open_in_root(rootfd, m.dest.rel.c_str(), O_PATH);
          FdPath t(top);
          remount_bind(t.c_str(), MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
          close_fd(top);
          return;
        }
        die(plan, "mount", err, "mount %s (%s) on %s", m.source.c_str(), m.type.c_str(),
            m.dest_abs.c_str());
      }
      break;
    }
  }
  close_fd(fd);
  if (m.needs_remount || m.propagation) {
    // Reopen: the old fd names the directory *under* the new mount.
    int top = open_in_root(rootfd, m.dest.rel.c_str(), O_PATH);
    if (top < 0) die(plan, "mount", -top, "reopen %s", m.dest_abs.c_str());
    FdPath t(top);
    if (m.needs_remount) {
      int rc = remount_bind(t.c_str(), m.remount_flags);
      if (rc != 0) die(plan, "mount", -rc, "remount %s read-only/with flags", m.dest_abs.c_str());
    }
    if (m.propagation && ::mount(nullptr, t.c_str(), nullptr, m.propagation, nullptr) != 0)
      die(plan, "mount", errno, "set propagation of %s", m.dest_abs.c_str());
    close_fd(top);
  }
}

}  // namespace

void setup_mounts(InitPlan& plan, int rootfd) {
  for (const auto& m : plan.mounts)
    if (m.kind != MountKind::cgroup_v1 && m.kind != MountKind::cgroup2) mount_one(plan, m, rootfd);
  if (plan.mount_devpts) {
    PlannedMount pts;
    pts.source = "devpts";
    pts.type = "devpts";
    pts.dest = make_root_path("/dev/pts");
    pts.dest_abs = "/dev/pts";
    pts.flags = MS_NOSUID | MS_NOEXEC;
    pts.data = "newinstance,ptmxmode=0666,mode=0620";
    mount_one(plan, pts, rootfd);
  }
  if (plan.mount_shm) {
    PlannedMount shm;
    shm.source = "shm";
    shm.type = "tmpfs";
    shm.dest = make_root_path("/dev/shm");
    shm.dest_abs = "/dev/shm";
    shm.flags = MS_NOSUID | MS_NOEXEC | MS_NODEV;
    shm.data = "mode=1777,size=65536k";
    mount_one(plan, shm, rootfd);
  }
}

void setup_cgroup_mounts(InitPlan& plan, int rootfd) {
  for (const auto& m : plan.mounts)
    if (m.kind == MountKind::cgroup_v1 || m.kind == MountKind::cgroup2) mount_one(plan, m, rootfd);
}

void setup_devices(InitPlan& plan, int rootfd) {
  for (const auto& d : plan.devices) {
    int parent = ensure_in_root(rootfd, d.dir, true);
    if (parent < 0) die(plan, "devices", -parent, "open parent of /%s", d.path.rel.c_str());
    const char* name = d.name.c_str();
    if (plan.new_userns) {
      // mknod is not allowed in a user namespace: bind the host's node over an empty file.
      if (::mknodat(parent, name, S_IFREG | 0644, 0) != 0 && errno != EEXIST)
        die(plan, "devices", errno, "create /%s", d.path.rel.c_str());
      int node = open_in_root(rootfd, d.path.rel.c_str(), O_PATH | O_NOFOLLOW);
      if (node < 0) die(plan, "devices", -node, "open /%s", d.path.rel.c_str());
      FdPath t(node);
      if (::mount(d.host_path.c_str(), t.c_str(), nullptr, MS_BIND, nullptr) != 0)
        die(plan, "devices", errno, "bind %s on /%s", d.host_path.c_str(), d.path.rel.c_str());
      close_fd(node);
    } else {
      if (::mknodat(parent, name, d.mode, d.dev) != 0) {
        if (errno != EEXIST) die(plan, "devices", errno, "mknod /%s", d.path.rel.c_str());
        // An image-provided device node stays; anything else is replaced.
        struct stat st {};
        if (::fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode))) {
          ::unlinkat(parent, name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
          if (::mknodat(parent, name, d.mode, d.dev) != 0)
            die(plan, "devices", errno, "mknod /%s", d.path.rel.c_str());
        }
      }
      int node = open_in_root(rootfd, d.path.rel.c_str(), O_PATH | O_NOFOLLOW);
      if (node < 0) die(plan, "devices", -node, "open /%s", d.path.rel.c_str());
      FdPath t(node);
      // chmod through the resolved node: the creation mode was filtered by the umask.
      ::chmod(t.c_str(), d.mode & 07777);
      if (::fchownat(node, "", d.uid, d.gid, AT_EMPTY_PATH) != 0)
        die(plan, "devices", errno, "chown /%s", d.path.rel.c_str());
      close_fd(node);
    }
    close_fd(parent);
  }
  for (const auto& s : plan.symlinks) {
    int parent = open_in_root(rootfd, s.dir.rel.c_str(), O_PATH | O_DIRECTORY);
    if (parent < 0) continue;  // no such directory in this rootfs: nothing to link
    const char* name = s.name.c_str();
    if (::symlinkat(s.target.c_str(), parent, name) != 0 && errno == EEXIST &&
        std::strcmp(name, "ptmx") == 0) {
      // /dev/ptmx must point at the container's own devpts instance.
      ::unlinkat(parent, name, 0);
      (void)!::symlinkat(s.target.c_str(), parent, name);  // an existing link is fine
    }
    close_fd(parent);
  }
}

void enter_rootfs(InitPlan& plan) {
  const char* root = plan.rootfs.c_str();
  if (plan.no_pivot) {
    if (::chdir(root) != 0) die(plan, "rootfs", errno, "chdir %s", root);
    if (::mount(root, "/", nullptr, MS_MOVE, nullptr) != 0)
      die(plan, "rootfs", errno, "move %s to /", root);
    if (::chroot(".") != 0) die(plan, "rootfs", errno, "chroot");
    if (::chdir("/") != 0) die(plan, "rootfs", errno, "chdir /");
    return;
  }
  int oldroot = ::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldroot < 0) die(plan, "rootfs", errno, "open /");
  int newroot = ::open(root, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (newroot < 0) die(plan, "rootfs", errno, "open %s", root);
  if (::fchdir(newroot) != 0) die(plan, "rootfs", errno, "chdir %s", root);
  // pivot_root(".", ".") stacks the old root on top of the new one; detaching "." afterwards
  // removes it without needing a put_old directory inside the image.
  if (::syscall(SYS_pivot_root, ".", ".") != 0) die(plan, "rootfs", errno, "pivot_root %s", root);
  if (::fchdir(oldroot) != 0) die(plan, "rootfs", errno, "chdir old root");
  if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
    die(plan, "rootfs", errno, "make old root rslave");
  if (::umount2(".", MNT_DETACH) != 0) die(plan, "rootfs", errno, "detach old root");
  if (::chdir("/") != 0) die(plan, "rootfs", errno, "chdir /");
  ::close(oldroot);
  ::close(newroot);
}

void finalize_rootfs(InitPlan& plan) {
  for (const auto& p : plan.readonly_paths) {
    const char* path = p.c_str();
    if (::mount(path, path, nullptr, MS_BIND | MS_REC, nullptr) != 0) {
      if (errno == ENOENT) continue;
      die(plan, "readonlyPaths", errno, "bind %s", path);
    }
    int rc = remount_bind(path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
    if (rc != 0) die(plan, "readonlyPaths", -rc, "remount %s read-only", path);
  }
  for (const auto& p : plan.masked_paths) {
    const char* path = p.c_str();
    struct stat st {};
    if (::stat(path, &st) != 0) {
      if (errno == ENOENT) continue;
      die(plan, "maskedPaths", errno, "stat %s", path);
    }
    int rc = S_ISDIR(st.st_mode) ? ::mount("tmpfs", path, "tmpfs", MS_RDONLY, nullptr)
                                 : ::mount("/dev/null", path, nullptr, MS_BIND, nullptr);
    if (rc != 0) die(plan, "maskedPaths", errno, "mask %s", path);
  }
  if (plan.readonly_root) {
    unsigned long keep = locked_flags("/") & ~MS_RDONLY;
    if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, nullptr) != 0)
      die(plan, "rootfs", errno, "remount / read-only");
  }
}

}  // namespace raind::droplet::child

// The container init between clone() and execve(): namespaces, rootfs, console, fifo wait,
// startContainer hooks, security, exec. See child.hpp for the rules this code follows.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>

#include "child.hpp"
#include "hooks_internal.hpp"
#include "security_bridge.hpp"
#include "integrity.hpp"
#include "sync.hpp"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

namespace raind::droplet::child {

void die(const InitPlan& plan, const char* stage, int err, const char* fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (plan.sync_fd >= 0 &&
      sync::send(plan.sync_fd, sync::Type::error, 0, err, stage, msg, std::strlen(msg)) == 0) {
    ::_exit(1);
  }
  char line[1400];
  int n = err ? std::snprintf(line, sizeof line, "droplet: %s: %s: %s\n", stage, msg,
                              std::strerror(err))
              : std::snprintf(line, sizeof line, "droplet: %s: %s\n", stage, msg);
  if (n > 0) {
    ssize_t w = ::write(2, line, static_cast<std::size_t>(n) < sizeof line ? n : sizeof line - 1);
    (void)w;
  }
  ::_exit(1);
}

int send_fd(int sock, int fd) noexcept {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  for (;;) {
    if (::sendmsg(sock, &msg, MSG_NOSIGNAL) >= 0) return 0;
    if (errno != EINTR) return -errno;
  }
}

namespace {

// The overlay of io.raind.image.config. The new mount API takes one "lowerdir+" per layer, so
// hundreds of layers never hit mount(2)'s one-page option limit; kernels without it (< 6.8)
// fall back to mount(2), with layer paths made relative when the option string is long.
void mount_overlay_rootfs(InitPlan& plan) {
  int fs = static_cast<int>(::syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC));
  bool fallback = fs < 0 && (errno == ENOSYS || errno == EPERM);
  if (fs < 0 && !fallback) die(plan, "overlay", errno, "fsopen overlay");
  auto set = [&](const char* key, const char* value) {
    return ::syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, key, value, 0) == 0;
  };
  auto kernel_says = [&](const char* what) {
    int err = errno;
    char msg[512] = {0};
    ssize_t n = ::read(fs, msg, sizeof msg - 1);  // the fs context's own error message
    if (n > 0) msg[n] = '\0';
    die(plan, "overlay", err, "%s for %s%s%s", what, plan.rootfs.c_str(), n > 0 ? ": " : "",
        n > 0 ? msg : "");
  };
  if (!fallback) {
    for (const auto& lower : plan.overlay_lower) {
      if (set("lowerdir+", lower.c_str())) continue;
      if (errno != EINVAL || &lower != &plan.overlay_lower.front()) kernel_says("add lower layer");
      fallback = true;  // the key is unknown to this kernel
      break;
    }
  }
  if (!fallback) {
    if (!set("upperdir", plan.overlay_upper.c_str())) kernel_says("set upperdir");
    if (!set("workdir", plan.overlay_work.c_str())) kernel_says("set workdir");
    if (::syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
      kernel_says("create overlay");
    int mnt = static_cast<int>(::syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, 0));
    if (mnt < 0) kernel_says("fsmount overlay");
    if (::syscall(SYS_move_mount, mnt, "", AT_FDCWD, plan.rootfs.c_str(),
                  MOVE_MOUNT_F_EMPTY_PATH) != 0)
      die(plan, "overlay", errno, "move overlay to %s", plan.rootfs.c_str());
    ::close(mnt);
    ::close(fs);
    return;
  }
  if (fs >= 0) ::close(fs);
  if (!plan.overlay_data_base.empty() && ::chdir(plan.overlay_data_base.c_str()) != 0)
    die(plan, "overlay", errno, "chdir %s", plan.overlay_data_base.c_str());
  if (::mount("overlay", plan.rootfs.c_str(), "overlay", 0, plan.overlay_data.c_str()) != 0)
    die(plan, "overlay", errno, "mount overlay at %s", plan.rootfs.c_str());
  if (::chdir("/") != 0) die(plan, "overlay", errno, "chdir /");
}

}  // namespace

void self_join_cgroup(InitPlan& plan, std::size_t len) {
  char* p = plan.buffer.data();
  char* end = p + len;
  while (p < end) {
    char* nl = static_cast<char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    if (!nl) nl = end;
    *nl = '\0';
    int fd = ::open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0", 1) != 1) die(plan, "cgroup", errno, "join cgroup %s", p);
    ::close(fd);
    p = nl + 1;
  }
  if (sync::send(plan.sync_fd, sync::Type::cgroup_self_joined) != 0)
    die(plan, "cgroup", errno, "sync");
}

namespace {

// Waits for one parent message of the expected type; payload lands in plan.buffer. The
// cgroup_joined notice may arrive ahead of the awaited message (the parent sends it as soon as
// the move is done); it is recorded and the wait goes on.
void expect(InitPlan& plan, sync::Type type, const char* stage) {
  for (;;) {
    sync::Header h{};
    std::size_t len = 0;
    int rc = sync::recv(plan.sync_fd, &h, plan.buffer.data(), plan.buffer.size(), &len);
    if (rc == -EPIPE) ::_exit(1);  // parent gone: nothing to report to
    if (rc != 0) die(plan, stage, -rc, "read sync socket");
    if (h.type == sync::Type::abort) ::_exit(1);
    if (h.type == sync::Type::cgroup_self_join) {
      self_join_cgroup(plan, len);
      continue;
    }
    if (h.type == sync::Type::cgroup_joined && type != sync::Type::cgroup_joined) {
      plan.cgroup_binds.assign(plan.buffer.data(), len);  // capacity reserved by the parent
      plan.cgroup_notice = true;
      continue;
    }
    if (h.type != type) die(plan, stage, EPROTO, "unexpected sync message %u", unsigned(h.type));
    plan.buffer_len = len;
    return;
  }
}

void idmap_handshake(InitPlan& plan) {
  if (sync::send(plan.sync_fd, sync::Type::ready_for_idmap) != 0)
    die(plan, "userns", errno, "sync");
  expect(plan, sync::Type::idmap_done, "userns");
  if (plan.root_mapped) {
    if (::setresgid(0, 0, 0) != 0) die(plan, "userns", errno, "setresgid(0)");
    if (::setresuid(0, 0, 0) != 0) die(plan, "userns", errno, "setresuid(0)");
  }
}

// Joins/creates namespaces. In two-stage mode the calling process forks the real init (so
// that new pid and time namespaces apply to it) and exits; only the init returns.
void enter_namespaces(InitPlan& plan) {
  if (!plan.two_stage) {
    if (plan.new_userns) idmap_handshake(plan);
    return;
  }
  for (const auto& j : plan.joins) {
    if (::setns(j.fd, j.nstype) != 0) die(plan, "namespaces", errno, "setns type %#x", j.nstype);
  }
  if (plan.new_userns) {
    if (::unshare(CLONE_NEWUSER) != 0) die(plan, "namespaces", errno, "unshare user namespace");
    idmap_handshake(plan);
  }
  int flags = (plan.clone_flags & ~CLONE_NEWUSER) | (plan.new_timens ? CLONE_NEWTIME : 0);
  if (flags && ::unshare(flags) != 0) die(plan, "namespaces", errno, "unshare %#x", flags);
  if (plan.new_timens && !plan.time_offsets.empty()) {
    int fd = ::open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
    if (fd < 0) die(plan, "namespaces", errno, "open timens_offsets");
    if (::write(fd, plan.time_offsets.data(), plan.time_offsets.size()) < 0)
      die(plan, "namespaces", errno, "write timens_offsets");
    ::close(fd);
  }
  long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) die(plan, "namespaces", errno, "fork init");
  if (pid > 0) {
    sync::send(plan.sync_fd, sync::Type::init_pid, static_cast<std::int32_t>(pid));
    ::_exit(0);
  }
}

void write_sysctls(InitPlan& plan) {
  for (const auto& [path, value] : plan.sysctl) {
    int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) die(plan, "sysctl", errno, "open %s", path.c_str());
    if (::write(fd, value.data(), value.size()) < 0)
      die(plan, "sysctl", errno, "write %s", path.c_str());
    ::close(fd);
  }
}

void setup_console(InitPlan& plan) {
  int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die(plan, "console", errno, "open /dev/ptmx");
  int unlock = 0;
  if (::ioctl(master, TIOCSPTLCK, &unlock) != 0) die(plan, "console", errno, "unlock pty");
  int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) die(plan, "console", errno, "open pty peer");
  int ptn = 0;
  ::ioctl(master, TIOCGPTN, &ptn);
  if (plan.proc.console_size) {
    winsize ws{};
    ws.ws_row = static_cast<unsigned short>(plan.proc.console_size->height);
    ws.ws_col = static_cast<unsigned short>(plan.proc.console_size->width);
    ::ioctl(slave, TIOCSWINSZ, &ws);
  }
  if (plan.proc.process.user.uid != 0) {
    if (::fchown(slave, plan.proc.process.user.uid, static_cast<gid_t>(-1)) != 0) {
      // Not fatal: the slave stays usable through the inherited fds.
    }
  }
  // /dev/console is the pty slave, as other runtimes arrange it.
  char slave_path[64];
  std::snprintf(slave_path, sizeof slave_path, "/dev/pts/%d", ptn);
  int cons = ::open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (cons >= 0) {
    ::close(cons);
    ::mount(slave_path, "/dev/console", nullptr, MS_BIND, nullptr);
  }
  int rc = send_fd(plan.console_fd, master);
  if (rc != 0) die(plan, "console", -rc, "send pty master to console socket");
  ::close(master);
  ::close(plan.console_fd);
  plan.console_fd = -1;
  if (::ioctl(slave, TIOCSCTTY, 0) != 0) die(plan, "console", errno, "set controlling terminal");
  for (int fd = 0; fd < 3; ++fd)
    if (::dup2(slave, fd) < 0) die(plan, "console", errno, "dup pty to stdio");
  if (slave > 2) ::close(slave);
}

}  // namespace

// Resolves args[0] against PATH inside the container (after pivot). Returns 0 or errno.
int resolve_executable(ProcessPlan& proc, char* out, std::size_t cap) noexcept {
  const char* arg0 = proc.args.empty() ? "" : proc.args[0].c_str();
  if (!*arg0) return ENOENT;
  if (std::strchr(arg0, '/')) {
    std::snprintf(out, cap, "%s", arg0);
    return ::access(out, X_OK) == 0 ? 0 : errno;
  }
  int last = ENOENT;
  for (const auto& dir : proc.path_dirs) {
    std::snprintf(out, cap, "%s/%s", dir.empty() ? "." : dir.c_str(), arg0);
    struct stat st {};
    if (::stat(out, &st) != 0) continue;
    if (!S_ISREG(st.st_mode)) continue;
    if (::access(out, X_OK) == 0) return 0;
    last = errno;
  }
  return last;
}

// Dispositions set to SIG_IGN and the blocked mask survive execve: without this the process
// would inherit what its launcher ignores or blocks for itself (the shim: SIGTERM, SIGINT,
// SIGHUP, SIGPIPE ignored, SIGCHLD blocked), and a shell could not even trap SIGTERM, so every
// stop ended in SIGKILL. The process starts with default dispositions and nothing blocked.
void reset_signals() noexcept {
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  for (int sig = 1; sig < NSIG; ++sig)
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);  // libc's own: EINVAL
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void prepare_fds(ProcessPlan& proc) noexcept {
  // Mark everything above the preserved range close-on-exec; the runtime's own fds live there.
  ::syscall(SYS_close_range, 3 + proc.preserve_fds, ~0U, CLOSE_RANGE_CLOEXEC);
  for (int fd = 3; fd < 3 + proc.preserve_fds; ++fd) {
    int fl = ::fcntl(fd, F_GETFD);
    if (fl >= 0) ::fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
  }
  if (proc.listen_fds) {
    std::snprintf(proc.listen_pid_buf.data(), proc.listen_pid_buf.size(), "LISTEN_PID=%d",
                  static_cast<int>(::getpid()));
    proc.envp[proc.listen_pid_index] = proc.listen_pid_buf.data();
  }
}

namespace {
// The parent moves us into our cgroup while we set up; the cgroup namespace must be created
// only once we are in it (so its root is the container's cgroup).
void wait_for_cgroup(InitPlan& plan) {
  if (plan.cgroup_joined) return;
  if (!plan.cgroup_notice) {
    expect(plan, sync::Type::cgroup_joined, "cgroup");
    plan.cgroup_binds.assign(plan.buffer.data(), plan.buffer_len);
  }
  plan.cgroup_joined = true;
  if (plan.new_cgroupns && ::unshare(CLONE_NEWCGROUP) != 0)
    die(plan, "namespaces", errno, "unshare cgroup namespace");
}
}  // namespace

namespace {
// Refuses to go on when config.json is no longer what create hashed (and the container's
// security settings came from): at the start of the init and again when `start` releases it.
// Before start, the error reaches create over the sync socket; at start time the init tells
// `start` through exec.fifo.
bool config_unchanged(InitPlan& plan, char* actual) {
  int rc = integrity::sha256_file_hex(plan.bundle_fd, "config.json", actual);
  return rc == 0 && std::memcmp(actual, plan.config_digest, integrity::kHexDigestSize) == 0;
}
}  // namespace

void init_main(InitPlan& plan) {
  expect(plan, sync::Type::config_digest, "integrity");
  if (plan.buffer_len != integrity::kHexDigestSize)
    die(plan, "integrity", EPROTO, "bad config digest from droplet");
  std::memcpy(plan.config_digest, plan.buffer.data(), integrity::kHexDigestSize);
  plan.bundle_fd = ::open(plan.bundle.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (plan.bundle_fd < 0) die(plan, "integrity", errno, "open bundle %s", plan.bundle.c_str());
  char actual[integrity::kHexDigestSize + 1];
  if (!config_unchanged(plan, actual))
    die(plan, "integrity", 0, "config.json changed since create (sha256 %s, created from %s)",
        actual, plan.config_digest);

  // Stage 1 of a two-stage start must be in the cgroup before it forks the init.
  if (plan.two_stage) {
    expect(plan, sync::Type::cgroup_joined, "cgroup");
    plan.cgroup_binds.assign(plan.buffer.data(), plan.buffer_len);
    plan.cgroup_notice = true;
  }
  enter_namespaces(plan);
  if (plan.two_stage) {
    plan.cgroup_joined = true;
    if (plan.new_cgroupns && ::unshare(CLONE_NEWCGROUP) != 0)
      die(plan, "namespaces", errno, "unshare cgroup namespace");
  }
  if (::setsid() < 0) die(plan, "init", errno, "setsid");

  // An unbindable / would make the rootfs bind below fail: start private and apply the
  // requested propagation to the container's root after pivot_root.
  const unsigned long late_propagation = plan.root_propagation & (MS_SHARED | MS_UNBINDABLE);
  if (plan.new_mount_ns) {
    unsigned long early = plan.root_propagation;
    if (early & MS_UNBINDABLE) early = MS_PRIVATE | (early & MS_REC);
    if (::mount(nullptr, "/", nullptr, early, nullptr) != 0)
      die(plan, "rootfs", errno, "set propagation of /");
    if (!plan.rootfs_parent_mount.empty() &&
        ::mount(nullptr, plan.rootfs_parent_mount.c_str(), nullptr, MS_PRIVATE, nullptr) != 0)
      die(plan, "rootfs", errno, "make %s private", plan.rootfs_parent_mount.c_str());
    if (plan.overlay) mount_overlay_rootfs(plan);
    if (::mount(plan.rootfs.c_str(), plan.rootfs.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
      die(plan, "rootfs", errno, "bind rootfs %s", plan.rootfs.c_str());
    int rootfd = ::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) die(plan, "rootfs", errno, "open rootfs %s", plan.rootfs.c_str());
    setup_mounts(plan, rootfd);
    setup_devices(plan, rootfd);
    wait_for_cgroup(plan);
    setup_cgroup_mounts(plan, rootfd);
    if (!plan.proc.cwd_root.rel.empty()) {
      int cwd = ensure_in_root(rootfd, plan.proc.cwd_root, true);
      if (cwd < 0) die(plan, "cwd", -cwd, "create cwd %s", plan.proc.cwd.c_str());
      ::close(cwd);
    }
    ::close(rootfd);
    if (plan.want_hooks_pause) {
      if (sync::send(plan.sync_fd, sync::Type::hooks_request) != 0)
        die(plan, "hooks", errno, "sync");
      expect(plan, sync::Type::hooks_done, "hooks");
    }
    enter_rootfs(plan);
    // A shared root propagation is applied only now: pivot_root refuses shared parents.
    if (late_propagation && ::mount(nullptr, "/", nullptr, plan.root_propagation, nullptr) != 0)
      die(plan, "rootfs", errno, "set propagation of the container root");
  } else {
    wait_for_cgroup(plan);
    if (plan.want_hooks_pause) {
      if (sync::send(plan.sync_fd, sync::Type::hooks_request) != 0)
        die(plan, "hooks", errno, "sync");
      expect(plan, sync::Type::hooks_done, "hooks");
    }
    plan.proc_self_fd_dir = ::open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (plan.proc_self_fd_dir < 0) die(plan, "rootfs", errno, "open /proc/self/fd");
    if (::chroot(plan.rootfs.c_str()) != 0) die(plan, "rootfs", errno, "chroot");
    if (::chdir("/") != 0) die(plan, "rootfs", errno, "chdir /");
  }

  if (plan.hostname && ::sethostname(plan.hostname->data(), plan.hostname->size()) != 0)
    die(plan, "hostname", errno, "sethostname %s", plan.hostname->c_str());
  if (plan.domainname && ::setdomainname(plan.domainname->data(), plan.domainname->size()) != 0)
    die(plan, "domainname", errno, "setdomainname %s", plan.domainname->c_str());
  // sysctls go in before readonlyPaths makes /proc/sys read-only (runc's order).
  write_sysctls(plan);
  if (plan.new_mount_ns) finalize_rootfs(plan);
  if (plan.proc.terminal) setup_console(plan);

  static char exe[PATH_MAX];
  int err = resolve_executable(plan.proc, exe, sizeof exe);
  if (err != 0)
    die(plan, "exec", 0, "exec: \"%s\": executable file not found in $PATH",
        plan.proc.args.empty() ? "" : plan.proc.args[0].c_str());

  if (plan.personality && ::personality(*plan.personality) < 0)
    die(plan, "personality", errno, "set personality %#lx", *plan.personality);
  security::before_fifo(plan.proc, plan.sync_fd, plan);
  prepare_fds(plan.proc);

  // Ready: the parent records the container as created and sends the state for the
  // startContainer hooks; after that the sync socket is closed and create returns.
  if (sync::send(plan.sync_fd, sync::Type::ready) != 0) die(plan, "init", errno, "sync");
  expect(plan, sync::Type::start_info, "init");
  ::close(plan.sync_fd);
  plan.sync_fd = -1;

  // Reopened for writing through /proc: the O_PATH fd cannot be written, and this open blocks
  // until `start` opens the read side.
  char fifo_path[64];
  int fifo;
  if (plan.proc_self_fd_dir >= 0) {
    std::snprintf(fifo_path, sizeof fifo_path, "%d", plan.fifo_fd);
    fifo = ::openat(plan.proc_self_fd_dir, fifo_path, O_WRONLY | O_CLOEXEC);
    ::close(plan.proc_self_fd_dir);
  } else {
    std::snprintf(fifo_path, sizeof fifo_path, "/proc/self/fd/%d", plan.fifo_fd);
    fifo = ::open(fifo_path, O_WRONLY | O_CLOEXEC);
  }
  if (fifo < 0) die(plan, "start", errno, "open exec fifo");
  ::close(plan.fifo_fd);

  if (plan.strict_integrity && !config_unchanged(plan, actual)) {
    char byte = integrity::kTamperedByte;
    (void)!::write(fifo, &byte, 1);
    ::_exit(1);
  }
  ::close(plan.bundle_fd);

  if (!plan.start_hooks.empty()) {
    std::string_view state(plan.buffer.data(), plan.buffer_len);
    run_hooks_in_child(plan.start_hooks, state, "startContainer");
  }
  // The byte tells `start` we are about to exec; the fifo closes (O_CLOEXEC) on execve, which
  // is how `start` knows the user process is running before it runs poststart hooks.
  char byte = '0';
  if (::write(fifo, &byte, 1) != 1) die(plan, "start", errno, "write exec fifo");

  reset_signals();
  security::before_exec(plan.proc, plan);
  if (::chdir(plan.proc.cwd.c_str()) != 0)
    die(plan, "cwd", errno, "chdir %s", plan.proc.cwd.c_str());
  security::last_before_exec(plan.proc, plan);
  ::execve(exe, plan.proc.argv.data(), plan.proc.envp.data());
  die(plan, "exec", errno, "exec %s", exe);
}

}  // namespace raind::droplet::child

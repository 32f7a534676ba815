// `droplet exec`: a new process in every namespace and the cgroup of a running container, with
// the same capabilities, seccomp, AppArmor, no_new_privs and user handling as the init.
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "child.hpp"
#include "plan_builder.hpp"
#include "raind/atomic_file.hpp"
#include "raind/droplet/parse.hpp"
#include "raind/droplet/audit.hpp"
#include "raind/droplet/runtime.hpp"
#include "raind/sys/files.hpp"
#include "raind/unique_fd.hpp"
#include "security_bridge.hpp"
#include "spawn.hpp"
#include "sync.hpp"
#include "tty_proxy.hpp"
#include "tty_shim.hpp"

namespace raind::droplet {

namespace child {
int resolve_executable(ProcessPlan& proc, char* out, std::size_t cap) noexcept;
void prepare_fds(ProcessPlan& proc) noexcept;
void reset_signals() noexcept;
}  // namespace child

namespace {

struct NsType {
  const char* name;
  int flag;
};
constexpr NsType kNsTypes[] = {{"user", CLONE_NEWUSER},     {"mnt", CLONE_NEWNS},
                               {"uts", CLONE_NEWUTS},       {"ipc", CLONE_NEWIPC},
                               {"net", CLONE_NEWNET},       {"pid", CLONE_NEWPID},
                               {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME}};

int differing_namespaces(pid_t pid) {
  int flags = 0;
  for (const auto& t : kNsTypes) {
    struct stat a {
    }, b{};
    auto self = fmt::format("/proc/self/ns/{}", t.name);
    auto other = fmt::format("/proc/{}/ns/{}", pid, t.name);
    if (::stat(self.c_str(), &a) != 0 || ::stat(other.c_str(), &b) != 0) continue;
    if (a.st_dev != b.st_dev || a.st_ino != b.st_ino) flags |= t.flag;
  }
  return flags;
}

void add_cap(std::vector<std::string>& set, const std::string& cap) {
  if (std::find(set.begin(), set.end(), cap) == set.end()) set.push_back(cap);
}

// The exec'd process: joins namespaces, then behaves like the init's final steps.
[[noreturn]] void exec_child(InitPlan& plan, int pidfd, int ns_flags, int root_fd) {
  sync::Header h{};
  std::size_t len = 0;
  if (sync::recv(plan.sync_fd, &h, plan.buffer.data(), plan.buffer.size(), &len) != 0) ::_exit(1);
  if (h.type == sync::Type::cgroup_self_join)
    child::self_join_cgroup(plan, len);
  else if (h.type != sync::Type::cgroup_joined)
    ::_exit(1);
  if (ns_flags && ::setns(pidfd, ns_flags) != 0)
    child::die(plan, "exec", errno, "enter container namespaces");
  ::close(pidfd);
  if (::fchdir(root_fd) != 0 || ::chroot(".") != 0)
    child::die(plan, "exec", errno, "enter container root");
  ::close(root_fd);
  if (ns_flags & (CLONE_NEWPID | CLONE_NEWTIME)) {
    // pid/time namespaces apply to children only: fork the real process as droplet's child.
    long pid = ::syscall(SYS_clone, CLONE_PARENT | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
    if (pid < 0) child::die(plan, "exec", errno, "fork");
    if (pid > 0) {
      sync::send(plan.sync_fd, sync::Type::init_pid, static_cast<std::int32_t>(pid));
      ::_exit(0);
    }
  }
  if (::setsid() < 0) child::die(plan, "exec", errno, "setsid");
  if (plan.proc.terminal) {
    int master = ::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) child::die(plan, "console", errno, "open /dev/ptmx");
    int unlock = 0;
    ::ioctl(master, TIOCSPTLCK, &unlock);
    int slave = ::ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (slave < 0) child::die(plan, "console", errno, "open pty peer");
    if (plan.proc.console_size) {
      winsize ws{};
      ws.ws_row = static_cast<unsigned short>(plan.proc.console_size->height);
      ws.ws_col = static_cast<unsigned short>(plan.proc.console_size->width);
      ::ioctl(slave, TIOCSWINSZ, &ws);
    }
    int rc = child::send_fd(plan.console_fd, master);
    if (rc != 0) child::die(plan, "console", -rc, "send pty master");
    ::close(master);
    ::ioctl(slave, TIOCSCTTY, 0);
    for (int fd = 0; fd < 3; ++fd) ::dup2(slave, fd);
    if (slave > 2) ::close(slave);
  }
  static char exe[PATH_MAX];
  int err = child::resolve_executable(plan.proc, exe, sizeof exe);
  if (err != 0)
    child::die(plan, "exec", 0, "exec: \"%s\": executable file not found in $PATH",
               plan.proc.args[0].c_str());
  security::before_fifo(plan.proc, plan.sync_fd, plan);
  child::prepare_fds(plan.proc);
  child::reset_signals();
  security::before_exec(plan.proc, plan);
  if (::chdir(plan.proc.cwd.c_str()) != 0)
    child::die(plan, "cwd", errno, "chdir %s", plan.proc.cwd.c_str());
  security::last_before_exec(plan.proc, plan);
  ::execve(exe, plan.proc.argv.data(), plan.proc.envp.data());
  child::die(plan, "exec", errno, "exec %s", exe);
}

volatile pid_t g_exec_pid = 0;
void forward(int sig) {
  if (g_exec_pid > 0) ::kill(g_exec_pid, sig);
}

}  // namespace

Result<int> Runtime::exec_with_shim(const ExecOptions& o) {
  auto dir = store_.dir(o.id);
  auto pid = launch_process_shim(
      [&](int console_fd) -> Result<pid_t> {
        ExecOptions inner = o;
        inner.tty_shim = false;
        inner.detach = true;
        inner.console_fd = console_fd;
        pid_t started = -1;
        inner.started_pid = &started;
        RAIND_TRY(exec(inner));
        return started;
      },
      [&](pid_t exec_pid, bool) {
        return ShimPaths{dir / fmt::format("exec-{}.sock", exec_pid),
                         dir / fmt::format("exec-{}.log", exec_pid),
                         dir / fmt::format("exec-{}.exit.json", exec_pid)};
      });
  if (!pid) return std::unexpected(std::move(pid.error()));
  if (o.started_pid) *o.started_pid = *pid;
  return 0;
}

Result<int> Runtime::exec(const ExecOptions& o) {
  if (o.tty_shim) return exec_with_shim(o);
  auto result = exec_steps(o);
  if (audit::enabled()) {
    audit::Subject subject;
    subject.container_id = o.id;
    if (auto rec = store_.load(o.id)) {
      subject.bundle = rec->bundle;
      subject.state_path = (store_.dir(o.id) / "state.json").string();
      subject.config_sha256 = rec->config_sha256;
      subject.pid = rec->init_pid;
      if (auto spec = oci::spec_from_json(rec->config))
        subject.spec = std::make_shared<const oci::Spec>(std::move(*spec));
    }
    Status st = result ? ok() : Status(std::unexpected(result.error()));
    auto r = audit::make_record("exec", subject, st, "exec_command");
    std::string command;
    if (o.process_file) {
      command = "--process " + o.process_file->string();
    } else {
      for (const auto& a : o.args) command += (command.empty() ? "" : " ") + a;
    }
    r["exec_command"] = command;
    if (result) r["exit_code"] = *result;
    audit::write(r);
  }
  return result;
}

Result<int> Runtime::exec_steps(const ExecOptions& o) {
  RAIND_TRY_ASSIGN(auto rec, store_.load(o.id));
  auto status = store_.status(rec);
  if (status == ContainerStatus::stopped)
    return failf(Errc::conflict, "cannot exec in a stopped container \"{}\"", o.id);
  if (status == ContainerStatus::paused)
    return failf(Errc::conflict, "cannot exec in a paused container \"{}\"", o.id);
  RAIND_TRY_ASSIGN(auto spec, oci::spec_from_json(rec.config));

  oci::Process process;
  if (o.process_file) {
    RAIND_TRY_ASSIGN(auto text, sys::read_file(*o.process_file));
    auto p = oci::parse_process(text);
    if (!p) return std::unexpected(std::move(p.error()).context("load process.json"));
    process = std::move(*p);
  } else {
    if (!spec.process) return fail(Errc::invalid_argument, "container has no process spec");
    process = *spec.process;
    if (o.args.empty()) return fail(Errc::invalid_argument, "exec: no command given");
    process.args = o.args;
    process.terminal = o.tty;
  }
  if (!o.cwd.empty()) process.cwd = o.cwd;
  for (const auto& e : o.env) {
    auto key = e.substr(0, e.find('='));
    std::erase_if(process.env,
                  [&](const std::string& x) { return x.substr(0, x.find('=')) == key; });
    process.env.push_back(e);
  }
  if (o.user) {
    RAIND_TRY_ASSIGN(auto user, parse_user_spec(*o.user));
    process.user.uid = user.first;
    if (user.second) process.user.gid = *user.second;
  }
  if (!o.caps.empty()) {
    if (!process.capabilities) process.capabilities = oci::Capabilities{};
    for (const auto& c : o.caps) {
      add_cap(process.capabilities->bounding, c);
      add_cap(process.capabilities->effective, c);
      add_cap(process.capabilities->permitted, c);
    }
  }
  if (process.terminal && o.console_socket.empty() && o.console_fd < 0 && o.detach)
    return fail(Errc::invalid_argument,
                "cannot allocate tty if droplet will detach without setting console socket");

  InitPlan plan;
  plan.id = o.id;
  RAIND_TRY_ASSIGN(plan.proc, build_process_plan(process, o.preserve_fds));
  spec.process = process;
  plan.buffer.assign(4096, '\0');
  int min_fd = 3 + plan.proc.preserve_fds;

  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, rec.init_pid, 0)));
  if (!pidfd || !process_alive(rec.init_pid, rec.init_start_time))
    return failf(Errc::conflict, "container \"{}\" is not running", o.id);
  RAIND_TRY_ASSIGN(int pfd, move_fd_high(pidfd.release(), min_fd));
  pidfd.reset(pfd);
  UniqueFd root_fd(
      ::open(fmt::format("/proc/{}/root", rec.init_pid).c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return fail_errno(fmt::format("open root of container \"{}\"", o.id));
  RAIND_TRY_ASSIGN(int rfd, move_fd_high(root_fd.release(), min_fd));
  root_fd.reset(rfd);
  int ns_flags = differing_namespaces(rec.init_pid);
  security::Context sec_ctx{(ns_flags & CLONE_NEWUSER) != 0, o.id, rec.bundle, rec.annotations};
  RAIND_TRY(security::prepare(plan.proc, spec, sec_ctx));

  UniqueFd console, console_peer;
  if (plan.proc.terminal) {
    if (o.console_fd >= 0) {
      console.reset(::fcntl(o.console_fd, F_DUPFD_CLOEXEC, 0));
      if (!console) return fail_errno("duplicate console socket");
    } else if (!o.console_socket.empty()) {
      RAIND_TRY_ASSIGN(console, connect_console_socket(o.console_socket));
    } else {
      int sv[2];
      if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return fail_errno("create console socket pair");
      console.reset(sv[0]);
      console_peer.reset(sv[1]);
    }
    RAIND_TRY_ASSIGN(int cfd, move_fd_high(console.release(), min_fd));
    console.reset(cfd);
    plan.console_fd = console.get();
  }

  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return fail_errno("create sync socket");
  UniqueFd parent_fd(sv[0]);
  RAIND_TRY_ASSIGN(int cfd, move_fd_high(sv[1], min_fd));
  UniqueFd child_fd(cfd);

  long rc = ::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (rc < 0) return fail_errno("fork exec process");
  if (rc == 0) {
    ::close(parent_fd.release());
    plan.sync_fd = child_fd.release();
    exec_child(plan, pidfd.get(), ns_flags, root_fd.get());
  }
  child_fd.reset();
  console.reset();
  pid_t first = static_cast<pid_t>(rc);
  pid_t target = first;
  auto kill_all = [&] {
    ::kill(target, SIGKILL);
    int st;
    ::waitpid(target, &st, 0);
    if (first != target) ::waitpid(first, &st, 0);
  };
  std::string self_join;
  if (!rec.cgroup.is_null()) {
    auto mgr = manager_of(rec);
    if (mgr)
      for (const auto& f : (*mgr)->self_join_files()) self_join += f.string() + "\n";
    // Not yet in any container namespace: the child can move itself (see self_join_files).
    Status joined = !mgr                ? Status(std::unexpected(mgr.error()))
                    : self_join.empty() ? (*mgr)->add_process(first)
                                        : ok();
    if (!joined) {
      kill_all();
      return std::unexpected(std::move(joined.error()).context("join container cgroup"));
    }
  }
  if (!self_join.empty())
    sync::send(parent_fd.get(), sync::Type::cgroup_self_join, 0, 0, "", self_join.data(),
               self_join.size());
  else
    sync::send(parent_fd.get(), sync::Type::cgroup_joined);
  std::vector<char> payload(sync::kMaxPayload);
  for (;;) {
    sync::Header h{};
    std::size_t len = 0;
    int r = sync::recv(parent_fd.get(), &h, payload.data(), payload.size(), &len);
    if (r == -EPIPE) break;  // exec succeeded (close-on-exec) or the child died
    if (r != 0) {
      kill_all();
      return fail_errno(-r, "read sync socket");
    }
    if (h.type == sync::Type::init_pid) {
      target = h.value;
      int st;
      ::waitpid(first, &st, 0);
      first = target;
      continue;
    }
    if (h.type == sync::Type::error) {
      std::string msg(payload.data(), len);
      Error e = h.err ? Error::from_errno(h.err, msg) : Error(Errc::system, msg);
      kill_all();
      return std::unexpected(std::move(e));
    }
  }
  if (!o.pid_file.empty())
    RAIND_TRY(with_context(write_file_atomic(o.pid_file, std::to_string(target), 0644),
                           "write pid file"));
  if (console_peer) RAIND_TRY(start_tty_proxy(std::move(console_peer)));
  if (o.started_pid) *o.started_pid = target;
  if (o.detach) return 0;
  g_exec_pid = target;
  struct sigaction sa {};
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH})
    ::sigaction(sig, &sa, nullptr);
  int st = 0;
  for (;;) {
    pid_t r = ::waitpid(target, &st, 0);
    if (r == target) break;
    if (r < 0 && errno != EINTR) return fail_errno("wait for exec process");
  }
  g_exec_pid = 0;
  stop_tty_proxy();
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

}  // namespace raind::droplet

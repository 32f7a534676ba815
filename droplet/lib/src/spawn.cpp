// Parent side of the init's creation: clone, cgroup placement, id maps, hooks, readiness.
#include "spawn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

#include "child.hpp"
#include "raind/sys/files.hpp"
#include "raind/unique_fd.hpp"
#include "sync.hpp"

namespace raind::droplet {

Result<int> move_fd_high(int fd, int min_fd) {
  if (fd >= min_fd) return fd;
  int nfd = ::fcntl(fd, F_DUPFD_CLOEXEC, min_fd);
  if (nfd < 0) return fail_errno("duplicate fd");
  ::close(fd);
  return nfd;
}

namespace {

// Owns the cloned processes until the init is handed over.
struct Children {
  pid_t first = -1;
  pid_t init = -1;
  bool released = false;
  ~Children() {
    if (released) return;
    for (pid_t p : {init, first}) {
      if (p > 0) {
        ::kill(p, SIGKILL);
        int st;
        while (::waitpid(p, &st, 0) < 0 && errno == EINTR) {
        }
      }
    }
  }
};

std::string id_map_text(const std::vector<oci::IdMapping>& maps) {
  std::string s;
  for (const auto& m : maps) s += fmt::format("{} {} {}\n", m.container_id, m.host_id, m.size);
  return s;
}

Status write_id_maps(pid_t pid, const oci::Spec& spec) {
  const auto& lx = *spec.linux_;
  auto base = fmt::format("/proc/{}/", pid);
  if (::geteuid() != 0) {
    RAIND_TRY(sys::write_existing(base + "setgroups", "deny"));
  }
  RAIND_TRY(with_context(sys::write_existing(base + "uid_map", id_map_text(lx.uid_mappings)),
                         "write uid_map"));
  RAIND_TRY(with_context(sys::write_existing(base + "gid_map", id_map_text(lx.gid_mappings)),
                         "write gid_map"));
  return ok();
}

// "B\t<host dir>\t<name>\n" binds and "L\t<target>\t<name>\n" links describing the container's
// own cgroup directories on a v1 host, for a `cgroup` mount inside the container.
std::string cgroup_bind_list(pid_t pid, const cgroups::HostLayout& layout) {
  auto text = sys::read_file(fmt::format("/proc/{}/cgroup", pid));
  if (!text) return {};
  std::string out;
  std::istringstream in(*text);
  std::string line;
  while (std::getline(in, line)) {
    auto c1 = line.find(':');
    auto c2 = line.find(':', c1 + 1);
    if (c1 == std::string::npos || c2 == std::string::npos) continue;
    std::string ctrls = line.substr(c1 + 1, c2 - c1 - 1);
    std::string path = line.substr(c2 + 1);
    if (ctrls.empty()) {
      if (!layout.unified_mount.empty())
        out += fmt::format("B\t{}{}\tunified\n", layout.unified_mount.string(),
                           path == "/" ? "" : path);
      continue;
    }
    if (ctrls.find('=') != std::string::npos) continue;  // named hierarchies (name=systemd)
    std::string first = ctrls.substr(0, ctrls.find(','));
    auto it = layout.v1_mounts.find(first);
    if (it == layout.v1_mounts.end()) continue;
    std::string name = it->second.filename().string();
    out += fmt::format("B\t{}{}\t{}\n", it->second.string(), path == "/" ? "" : path, name);
    std::size_t pos = 0;
    while (pos <= ctrls.size()) {
      auto comma = ctrls.find(',', pos);
      if (comma == std::string::npos) comma = ctrls.size();
      std::string c = ctrls.substr(pos, comma - pos);
      if (c != name) out += fmt::format("L\t{}\t{}\n", name, c);
      pos = comma + 1;
    }
  }
  return out;
}

Error child_error(const sync::Header& h, const char* payload, std::size_t len) {
  std::string msg(payload, len);
  Error e = h.err ? Error::from_errno(h.err, msg) : Error(Errc::system, msg);
  if (h.stage[0]) e.context(fmt::format("container init ({})", h.stage));
  return e;
}

}  // namespace

Result<pid_t> spawn_init(InitPlan& plan, const oci::Spec& spec, cgroups::Manager* cgroup,
                         const cgroups::HostLayout* layout, const SpawnHooks& hooks) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return fail_errno("create sync socket");
  UniqueFd parent_fd(sv[0]);
  int min_fd = 3 + plan.proc.preserve_fds;
  RAIND_TRY_ASSIGN(int child_fd_num, move_fd_high(sv[1], min_fd));
  UniqueFd child_fd(child_fd_num);

  Children kids;
  long rc;
  if (plan.two_stage) {
    rc = ::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  } else {
    rc = ::syscall(SYS_clone, plan.clone_flags | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  }
  if (rc < 0) return fail_errno("clone container init");
  if (rc == 0) {
    parent_fd.release();
    ::close(sv[0]);
    plan.sync_fd = child_fd.release();
    child::init_main(plan);
  }
  kids.first = static_cast<pid_t>(rc);
  if (!plan.two_stage) kids.init = kids.first;
  child_fd.reset();
  (void)sync::send(parent_fd.get(), sync::Type::config_digest, 0, 0, "", hooks.config_digest.data(),
                   hooks.config_digest.size());

  auto abort_child = [&] { sync::send(parent_fd.get(), sync::Type::abort); };
  if (hooks.setup_cgroup) {
    auto st = hooks.setup_cgroup();
    if (!st) {
      abort_child();
      return std::unexpected(std::move(st.error()));
    }
  }
  // The child sets up concurrently and may already have failed: a send error is not reported
  // here, the loop below reads the child's error message (or EOF) instead.
  auto send_cgroup_joined = [&] {
    std::string binds = (cgroup && layout) ? cgroup_bind_list(kids.first, *layout) : std::string();
    (void)sync::send(parent_fd.get(), sync::Type::cgroup_joined, 0, 0, "", binds.data(),
                     binds.size());
  };
  // A process in a new user namespace has no mapping yet and cannot write host cgroup files:
  // the parent moves it instead.
  bool in_userns = plan.new_userns ||
                   std::any_of(plan.joins.begin(), plan.joins.end(),
                               [](const JoinNamespace& j) { return j.nstype == CLONE_NEWUSER; });
  std::string self_join;
  if (cgroup && !in_userns)
    for (const auto& f : cgroup->self_join_files()) self_join += f.string() + "\n";
  if (!self_join.empty()) {
    (void)sync::send(parent_fd.get(), sync::Type::cgroup_self_join, 0, 0, "", self_join.data(),
                     self_join.size());
  } else {
    if (cgroup) {
      auto st = cgroup->add_process(kids.first);
      if (!st) {
        abort_child();
        return std::unexpected(std::move(st.error()).context("join cgroup"));
      }
    }
    send_cgroup_joined();
  }

  std::vector<char> payload(sync::kMaxPayload);
  for (;;) {
    sync::Header h{};
    std::size_t len = 0;
    int r = sync::recv(parent_fd.get(), &h, payload.data(), payload.size(), &len);
    if (r == -EPIPE) {
      // The child died without reporting; collect its status for the message.
      pid_t p = kids.init > 0 ? kids.init : kids.first;
      int st = 0;
      while (::waitpid(p, &st, 0) < 0 && errno == EINTR) {
      }
      if (p == kids.init) kids.init = -1;
      if (p == kids.first) kids.first = -1;
      if (WIFSIGNALED(st))
        return failf(Errc::system, "container init was killed by signal {}", WTERMSIG(st));
      return failf(Errc::system, "container init exited unexpectedly with status {}",
                   WEXITSTATUS(st));
    }
    if (r != 0) return fail_errno(-r, "read sync socket");
    switch (h.type) {
      case sync::Type::ready_for_idmap: {
        auto st = write_id_maps(kids.first, spec);
        if (!st) {
          abort_child();
          return std::unexpected(std::move(st.error()).context("user namespace"));
        }
        sync::send(parent_fd.get(), sync::Type::idmap_done);
        break;
      }
      case sync::Type::init_pid: {
        kids.init = h.value;
        int st;
        while (::waitpid(kids.first, &st, 0) < 0 && errno == EINTR) {
        }
        kids.first = -1;  // the init was forked after stage 1 joined: it inherited the cgroup
        break;
      }
      case sync::Type::cgroup_self_joined:
        send_cgroup_joined();
        break;
      case sync::Type::hooks_request: {
        Status st = hooks.create_hooks ? hooks.create_hooks(kids.init) : ok();
        if (!st) {
          abort_child();
          return std::unexpected(std::move(st.error()));
        }
        sync::send(parent_fd.get(), sync::Type::hooks_done);
        break;
      }
      case sync::Type::ready: {
        std::string state = hooks.start_state ? hooks.start_state(kids.init) : "{}";
        if (sync::send(parent_fd.get(), sync::Type::start_info, 0, 0, "", state.data(),
                       state.size()) != 0)
          return fail_errno("sync with container init");
        kids.released = true;
        return kids.init;
      }
      case sync::Type::error: {
        Error e = child_error(h, payload.data(), len);
        return std::unexpected(std::move(e));
      }
      default:
        abort_child();
        return failf(Errc::internal, "unexpected sync message {}", static_cast<unsigned>(h.type));
    }
  }
}

}  // namespace raind::droplet

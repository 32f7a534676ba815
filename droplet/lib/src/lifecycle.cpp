// create / start / run / state / kill / delete / list.
#include <fcntl.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "plan_builder.hpp"
#include "raind/atomic_file.hpp"
#include "raind/crash_point.hpp"
#include "raind/digest.hpp"
#include "raind/droplet/audit.hpp"
#include "raind/droplet/hooks.hpp"
#include "raind/droplet/net_config.hpp"
#include "raind/droplet/netlink.hpp"
#include "raind/droplet/parse.hpp"
#include "raind/droplet/runtime.hpp"
#include "raind/log.hpp"
#include "raind/scope_exit.hpp"
#include "raind/sys/files.hpp"
#include "raind/unique_fd.hpp"
#include "security_bridge.hpp"
#include "integrity.hpp"
#include "spawn.hpp"
#include "tty_shim.hpp"
#include "tty_proxy.hpp"

namespace raind::droplet {
namespace {

// Devices a container always needs access to, in addition to the spec's rules (the default spec
// denies everything first): the default nodes, ptys and the devices the spec creates.
void add_default_device_rules(cgroups::Resources& res, const oci::Spec& spec) {
  auto allow = [&](char type, std::optional<std::int64_t> major, std::optional<std::int64_t> minor,
                   const char* access) {
    cgroups::DeviceRule r;
    r.allow = true;
    r.type = type;
    r.major = major;
    r.minor = minor;
    r.access = access;
    res.devices.push_back(r);
  };
  if (res.devices.empty()) return;  // no device rules at all: leave the cgroup's defaults
  allow('c', std::nullopt, std::nullopt, "m");
  allow('b', std::nullopt, std::nullopt, "m");
  for (int minor : {3, 5, 7, 8, 9}) allow('c', 1, minor, "rwm");
  allow('c', 5, 0, "rwm");
  allow('c', 5, 1, "rwm");
  allow('c', 5, 2, "rwm");
  allow('c', 136, std::nullopt, "rwm");
  if (spec.linux_) {
    for (const auto& d : spec.linux_->devices) {
      if (d.type == "p") continue;
      allow(d.type == "b" ? 'b' : 'c', d.major, d.minor, "rwm");
    }
  }
}

Status wait_gone(pid_t pid, std::uint64_t start_time, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  // A pidfd becomes readable the moment the process exits: no fixed sleep on this hot path
  // (delete, kill --all, run).
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  while (process_alive(pid, start_time)) {
    // Our own child (run): reap it so it does not linger as a zombie.
    int st;
    ::waitpid(pid, &st, WNOHANG);
    if (std::chrono::steady_clock::now() > deadline)
      return failf(Errc::timeout, "process {} did not exit", pid);
    if (pidfd) {
      pollfd p{pidfd.get(), POLLIN, 0};
      ::poll(&p, 1, 50);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return ok();
}

std::string hook_state(const ContainerRecord& rec, std::string_view status, pid_t pid) {
  oci::State s;
  s.id = rec.id;
  s.status = std::string(status);
  s.pid = pid;
  s.bundle = rec.bundle;
  s.annotations = rec.annotations;
  return oci::state_to_json(s).dump();
}

Result<oci::Spec> record_spec(const ContainerRecord& rec) {
  return oci::spec_from_json(rec.config);
}

// io.raind.net.config, checked before anything is created: the bridge must exist, the host
// end's name must be free and the container must get its own network namespace.
Result<std::optional<net::NetConfig>> container_network(const oci::Spec& spec) {
  auto it = spec.annotations.find(std::string(net::kNetAnnotation));
  if (it == spec.annotations.end()) return std::optional<net::NetConfig>();
  RAIND_TRY_ASSIGN(auto cfg, net::parse_net_config(it->second));
  bool own_netns = spec.linux_ && std::any_of(spec.linux_->namespaces.begin(),
                                              spec.linux_->namespaces.end(), [](const auto& ns) {
                                                return ns.type == "network" && ns.path.empty();
                                              });
  if (!own_netns)
    return failf(Errc::invalid_argument, "{}: needs a new network namespace in linux.namespaces",
                 net::kNetAnnotation);
  RAIND_TRY(
      with_context(net::check_bridge(cfg.bridge_interface), std::string(net::kNetAnnotation)));
  if (net::interface_exists(cfg.veth_name))
    return failf(Errc::conflict, "{}: interface \"{}\" already exists", net::kNetAnnotation,
                 cfg.veth_name);
  return std::optional<net::NetConfig>(std::move(cfg));
}

std::string not_running_msg(const std::string& id) {
  return fmt::format("container \"{}\" is not running", id);
}

}  // namespace

Result<UniqueFd> connect_console_socket(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fail_errno("create console socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    return failf(Errc::invalid_argument, "console socket path \"{}\" is too long", path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return fail_errno(fmt::format("connect to console socket {}", path));
  return fd;
}

nlohmann::json state_json(const ContainerRecord& record, ContainerStatus status) {
  auto j = oci::state_to_json(oci_state(record, status));
  j["rootfs"] = record.rootfs;
  j["created"] = record.created;
  j["owner"] = record.owner;
  if (!record.failure.empty()) j["failure"] = record.failure;
  return j;
}

Result<std::unique_ptr<cgroups::Manager>> Runtime::manager_of(const ContainerRecord& rec) const {
  if (rec.cgroup.is_null())
    return failf(Errc::unsupported, "container \"{}\" has no cgroup", rec.id);
  return cgroups::load_manager(rec.cgroup);
}

namespace {

// The stage an init-side error names ("container init (<stage>): ..."), else the caller's.
std::string error_stage(const Error& e, const std::string& stage) {
  const std::string& what = e.what();
  auto at = what.find("container init (");
  if (at == std::string::npos) return stage;
  auto from = at + 16;
  auto to = what.find(')', from);
  return to == std::string::npos ? stage : what.substr(from, to - from);
}

// Fills the audit subject from a container's saved record.
void describe(audit::Subject& s, const StateStore& store, const ContainerRecord& rec) {
  s.container_id = rec.id;
  s.bundle = rec.bundle;
  s.state_path = (store.dir(rec.id) / "state.json").string();
  s.config_sha256 = rec.config_sha256;
  s.pid = rec.init_pid;
  if (audit::enabled()) {
    auto spec = oci::spec_from_json(rec.config);
    if (spec) s.spec = std::make_shared<const oci::Spec>(std::move(*spec));
  }
}

// The annotation io.raind.tty=shim asks for the shim without the flag (condenserd's way).
bool wants_tty_shim(const std::filesystem::path& bundle) {
  auto text =
      sys::read_file((bundle.empty() ? std::filesystem::path(".") : bundle) / "config.json");
  if (!text || text->find(kTtyAnnotation) == std::string::npos) return false;
  auto spec = oci::parse_spec(*text);
  if (!spec) return false;  // create reports the parse error
  auto it = spec->annotations.find(std::string(kTtyAnnotation));
  return it != spec->annotations.end() && it->second == "shim";
}

struct SubjectScope {
  explicit SubjectScope(const audit::Subject& s) { audit::set_current_subject(&s); }
  ~SubjectScope() { audit::set_current_subject(nullptr); }
  SubjectScope(const SubjectScope&) = delete;
  SubjectScope& operator=(const SubjectScope&) = delete;
};

}  // namespace

Result<pid_t> Runtime::create(const CreateOptions& o, bool foreground) {
  if (o.tty_shim || (o.console_fd < 0 && !foreground && wants_tty_shim(o.bundle)))
    return create_with_shim(o);
  audit::Subject subject;
  subject.container_id = o.id;
  SubjectScope scope(subject);
  std::string stage = "load_spec";
  auto result = create_steps(o, foreground, subject, stage);
  if (audit::enabled()) {
    Status st = result ? ok() : Status(std::unexpected(result.error()));
    if (result) subject.pid = *result;
    audit::write(audit::make_record("create", subject, st,
                                    result ? std::string() : error_stage(result.error(), stage)));
  }
  return result;
}

Result<pid_t> Runtime::create_steps(const CreateOptions& o, bool foreground,
                                    audit::Subject& subject, std::string& stage) {
  auto log = logger("droplet");
  RAIND_TRY(validate_container_id(o.id));
  std::error_code ec;
  auto bundle = o.bundle.empty() ? std::filesystem::current_path(ec) : o.bundle;
  bundle = std::filesystem::absolute(bundle, ec).lexically_normal();
  if (bundle.string().size() > 1 && bundle.string().back() == '/') bundle = bundle.parent_path();
  auto text = sys::read_file(bundle / "config.json");
  if (!text) return std::unexpected(std::move(text.error()).context("load config.json"));
  auto parsed = oci::parse_spec(*text);
  if (!parsed) return std::unexpected(std::move(parsed.error()).context("load config.json"));
  oci::Spec spec = std::move(*parsed);
  subject.bundle = bundle.string();
  subject.config_sha256 = sha256_hex(*text);
  if (audit::enabled()) subject.spec = std::make_shared<const oci::Spec>(spec);
  RAIND_TRY(with_context(oci::validate_spec(spec), "load config.json"));
  if (spec.process && spec.process->terminal && o.console_socket.empty() && o.console_fd < 0 &&
      !foreground)
    return fail(Errc::invalid_argument,
                "cannot allocate tty if droplet will detach without setting console socket");

  stage = "setup_network";
  RAIND_TRY_ASSIGN(auto network, container_network(spec));
  stage = "prepare";

  auto layout = cgroups::detect_host_layout();
  PlanOptions popts;
  popts.id = o.id;
  popts.bundle = bundle;
  popts.no_pivot = o.no_pivot;
  popts.preserve_fds = o.preserve_fds;
  popts.cgroup_v1 = layout && layout->version == cgroups::Version::v1;
  auto plan_r = build_init_plan(spec, popts);
  if (!plan_r) return std::unexpected(std::move(plan_r.error()));
  InitPlan plan = std::move(*plan_r);
  ScopeExit close_joins([&] { close_plan_fds(plan); });
  security::Context sec_ctx{plan.new_userns ||
                                [&] {
                                  for (const auto& j : plan.joins)
                                    if (j.nstype == CLONE_NEWUSER) return true;
                                  return false;
                                }(),
                            o.id, bundle.string(), spec.annotations};
  RAIND_TRY(security::prepare(plan.proc, spec, sec_ctx));

  // Declared before the rollback stack: its undo steps refer to the manager.
  std::unique_ptr<cgroups::Manager> cgroup;
  RollbackStack rollback;
  stage = "create_state";
  RAIND_TRY(store_.create_dir(o.id));
  subject.state_path = (store_.dir(o.id) / "state.json").string();
  stage = "create_fifo";
  rollback.push("remove state dir", [this, id = o.id] { (void)store_.remove(id); });

  auto fifo = store_.fifo_path(o.id);
  if (::mkfifo(fifo.c_str(), 0622) != 0) return fail_errno("create exec fifo");
  // The init may run as an unprivileged host uid (user namespace): it must be able to open the
  // fifo for writing, and only that (the umask would have removed the bits).
  if (::chmod(fifo.c_str(), 0622) != 0) return fail_errno("chmod exec fifo");
  int min_fd = 3 + plan.proc.preserve_fds;
  UniqueFd fifo_fd(::open(fifo.c_str(), O_PATH | O_CLOEXEC));
  if (!fifo_fd) return fail_errno("open exec fifo");
  RAIND_TRY_ASSIGN(int ffd, move_fd_high(fifo_fd.release(), min_fd));
  fifo_fd.reset(ffd);
  plan.fifo_fd = fifo_fd.get();

  UniqueFd console;
  UniqueFd console_peer;  // foreground run with a terminal: we are the console socket's peer
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

  stage = "setup_cgroup";
  if (layout) {
    std::string cg_path = spec.linux_ ? spec.linux_->cgroups_path : std::string();
    auto mgr = cgroups::make_manager(*layout, cg_path, o.id);
    if (!mgr) return std::unexpected(std::move(mgr.error()).context("cgroup"));
    cgroup = std::move(*mgr);
    rollback.push("destroy cgroup", [&cgroup] { (void)cgroup->destroy(); });
  } else {
    log->warn("cgroups unavailable: {}", layout.error().what());
  }

  ContainerRecord rec;
  rec.id = o.id;
  rec.bundle = bundle.string();
  rec.rootfs = plan.rootfs;
  rec.created = now_rfc3339();
  rec.annotations = spec.annotations;
  rec.cgroup = cgroup ? cgroup->to_json() : nlohmann::json();
  rec.owner = "";
  rec.config_sha256 = subject.config_sha256;
  rec.config = oci::spec_to_json(spec);

  SpawnHooks hooks;
  if (cgroup) {
    hooks.setup_cgroup = [&]() -> Status {
      RAIND_TRY(with_context(cgroup->create(), "create cgroup"));
      if (spec.linux_ && spec.linux_->resources) {
        auto res = to_cgroup_resources(*spec.linux_->resources);
        add_default_device_rules(res, spec);
        RAIND_TRY(with_context(cgroup->apply(res), "apply cgroup resources"));
      }
      return ok();
    };
  }
  hooks.create_hooks = [&](pid_t pid) -> Status {
    if (!spec.hooks) return ok();
    auto state = hook_state(rec, "creating", pid);
    // The legacy prestart phase predates the "creating" status: runtimes (and the validation
    // suite) pass "created" to it.
    RAIND_TRY(run_hooks(spec.hooks->prestart, hook_state(rec, "created", pid), "prestart"));
    RAIND_TRY(run_hooks(spec.hooks->create_runtime, state, "createRuntime"));
    RAIND_TRY(run_hooks(spec.hooks->create_container, state, "createContainer", pid));
    return ok();
  };
  hooks.start_state = [&](pid_t pid) { return hook_state(rec, "created", pid); };
  hooks.config_digest = rec.config_sha256;
  stage = "execute_init";
  auto pid_r = spawn_init(plan, spec, cgroup.get(), layout ? &*layout : nullptr, hooks);
  if (audit::enabled()) {
    if (pid_r) subject.pid = *pid_r;
    Status st = pid_r ? ok() : Status(std::unexpected(pid_r.error()));
    audit::write(audit::make_record(
        "init", subject, st, pid_r ? std::string() : error_stage(pid_r.error(), "execute_init")));
  }
  if (!pid_r) return std::unexpected(std::move(pid_r.error()));
  pid_t pid = *pid_r;
  rollback.push("kill init", [pid] {
    ::kill(pid, SIGKILL);
    int st;
    ::waitpid(pid, &st, 0);
  });
  console.reset();

  stage = "setup_network";
  if (network) {
    // Between create and start: the init waits on exec.fifo inside its new network namespace.
    UniqueFd netns(::open(fmt::format("/proc/{}/ns/net", pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns) return fail_errno("open the container's network namespace");
    RAIND_TRY(with_context(net::setup_container_network(*network, netns.get()), "network"));
    rollback.push("remove veth",
                  [name = network->veth_name] { (void)net::remove_host_interface(name); });
  }
  // The init waits in its cgroup with its veth, and no state.json names it yet.
  crash_point("droplet.create.after_network");

  rec.init_pid = pid;
  auto ps = read_proc_stat(pid);
  rec.init_start_time = ps ? ps->start_time : 0;
  stage = "update_state";
  RAIND_TRY(with_context(store_.save(rec), "write state"));
  stage = "create_pid_file";
  if (!o.pid_file.empty())
    RAIND_TRY(
        with_context(write_file_atomic(o.pid_file, std::to_string(pid), 0644), "write pid file"));
  if (console_peer) {
    RAIND_TRY(start_tty_proxy(std::move(console_peer)));
  }
  rollback.commit();
  return pid;
}

Result<pid_t> Runtime::create_with_shim(const CreateOptions& o) {
  RAIND_TRY(validate_container_id(o.id));
  auto dir = store_.dir(o.id);
  return launch_process_shim(
      [&](int console_fd) {
        CreateOptions inner = o;
        inner.tty_shim = false;
        inner.console_fd = console_fd;
        return create(inner, false);
      },
      [&](pid_t, bool tty) {
        return ShimPaths{dir / "attach.sock", dir / (tty ? "console.log" : "init.log"),
                         dir / "exit.json"};
      });
}

Status Runtime::start(const std::string& id) {
  audit::Subject subject;
  subject.container_id = id;
  SubjectScope scope(subject);
  std::string stage = "check_status";
  auto st = start_steps(id, subject, stage);
  if (audit::enabled()) audit::write(audit::make_record("start", subject, st, stage));
  return st;
}

Status Runtime::start_steps(const std::string& id, audit::Subject& subject, std::string& stage) {
  RAIND_TRY_ASSIGN(auto rec, store_.load(id));
  describe(subject, store_, rec);
  auto status = store_.status(rec);
  switch (status) {
    case ContainerStatus::created:
      break;
    case ContainerStatus::stopped:
      return failf(Errc::conflict, "cannot start container \"{}\": it has stopped", id);
    case ContainerStatus::paused:
      return failf(Errc::conflict, "cannot start container \"{}\": it is paused", id);
    default:
      return failf(Errc::conflict, "cannot start container \"{}\": it is already running", id);
  }
  auto fifo_path = store_.fifo_path(id);
  UniqueFd fifo(::open(fifo_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fifo) {
    if (errno == ENOENT)
      return failf(Errc::conflict, "cannot start container \"{}\": it is already running", id);
    return fail_errno(fmt::format("open exec fifo of container \"{}\"", id));
  }
  stage = "read_fifo";
  // Opening the read side released the init's blocking open(O_WRONLY). It now runs the
  // startContainer hooks, writes one byte, and execs; the fifo closes (EOF) at execve.
  bool got_byte = false;
  bool tampered = false;
  for (;;) {
    pollfd p{fifo.get(), POLLIN, 0};
    int n = ::poll(&p, 1, 100);
    if (n < 0 && errno != EINTR) return fail_errno("poll exec fifo");
    char buf[16];
    ssize_t r = ::read(fifo.get(), buf, sizeof buf);
    if (r > 0) {
      got_byte = true;
      if (std::memchr(buf, integrity::kTamperedByte, static_cast<std::size_t>(r))) tampered = true;
      continue;
    }
    if (r == 0) break;  // EOF: the init exec'd (or died)
    if (errno != EAGAIN && errno != EINTR) return fail_errno("read exec fifo");
    if (!process_alive(rec.init_pid, rec.init_start_time)) break;
  }
  ::unlink(fifo_path.c_str());
  if (tampered) {
    stage = "integrity";
    rec.failure = "integrity: config.json changed since create; the init refused to start";
    (void)store_.save(rec);
    return failf(Errc::integrity,
                 "cannot start container \"{}\": config.json changed since create (integrity "
                 "check failed)",
                 id);
  }
  if (!got_byte)
    return failf(Errc::system, "container \"{}\" init failed before starting the process", id);
  stage = "hook_poststart";
  auto spec = record_spec(rec);
  if (spec && spec->hooks && !spec->hooks->poststart.empty()) {
    // A failing poststart hook only warns (runtime-spec).
    run_hooks_warn(spec->hooks->poststart, hook_state(rec, "running", rec.init_pid), "poststart");
  }
  return ok();
}

namespace {
volatile pid_t g_forward_pid = 0;
void forward_signal(int sig) {
  if (g_forward_pid > 0) ::kill(g_forward_pid, sig);
}
}  // namespace

Result<int> Runtime::run(const CreateOptions& o, bool detach) {
  RAIND_TRY_ASSIGN(pid_t pid, create(o, !detach));
  if (!detach) {
    g_forward_pid = pid;
    struct sigaction sa {};
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCONT})
      ::sigaction(sig, &sa, nullptr);
  }
  auto started = start(o.id);
  if (!started) {
    (void)remove(o.id, true);
    return std::unexpected(std::move(started.error()));
  }
  if (detach) return 0;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, 0);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return fail_errno("wait for container process");
  }
  g_forward_pid = 0;
  stop_tty_proxy();
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  auto removed = remove(o.id, true);
  if (!removed) logger("droplet")->warn("delete {}: {}", o.id, removed.error().what());
  return code;
}

Result<nlohmann::json> Runtime::state(const std::string& id) {
  RAIND_TRY_ASSIGN(auto rec, store_.load(id));
  return state_json(rec, store_.status(rec));
}

Status Runtime::kill(const std::string& id, int signal, bool all) {
  audit::Subject subject;
  subject.container_id = id;
  SubjectScope scope(subject);
  auto st = kill_steps(id, signal, all, subject);
  if (audit::enabled()) {
    auto r = audit::make_record("kill", subject, st, "send_signal");
    r["signals"] = {{"signal", signal}, {"all", all}};
    audit::write(r);
  }
  return st;
}

Status Runtime::kill_steps(const std::string& id, int signal, bool all, audit::Subject& subject) {
  RAIND_TRY_ASSIGN(auto rec, store_.load(id));
  describe(subject, store_, rec);
  auto status = store_.status(rec);
  if (status == ContainerStatus::stopped) return fail(Errc::conflict, not_running_msg(id));
  if (all && !rec.cgroup.is_null()) {
    RAIND_TRY_ASSIGN(auto mgr, manager_of(rec));
    RAIND_TRY_ASSIGN(auto pids, mgr->pids());
    for (pid_t p : pids) ::kill(p, signal);
    if (status == ContainerStatus::paused && signal == SIGKILL) (void)mgr->thaw();
  } else if (::kill(rec.init_pid, signal) != 0) {
    if (errno == ESRCH) return fail(Errc::conflict, not_running_msg(id));
    return fail_errno(fmt::format("signal container \"{}\"", id));
  }
  auto spec = record_spec(rec);
  if (spec && spec->hooks && !spec->hooks->stop_container.empty()) {
    // Extension phase: runs once the container process is gone (bounded wait).
    if (wait_gone(rec.init_pid, rec.init_start_time, std::chrono::seconds(10)))
      run_hooks_warn(spec->hooks->stop_container, hook_state(rec, "stopped", 0), "stopContainer");
  }
  return ok();
}

Status Runtime::remove(const std::string& id, bool force) {
  audit::Subject subject;
  subject.container_id = id;
  SubjectScope scope(subject);
  std::string stage = "get_status";
  auto st = remove_steps(id, force, subject, stage);
  if (audit::enabled()) audit::write(audit::make_record("delete", subject, st, stage));
  return st;
}

Status Runtime::remove_steps(const std::string& id, bool force, audit::Subject& subject,
                             std::string& stage) {
  auto loaded = store_.load(id);
  if (!loaded) {
    // A half-created directory without state.json is removed with --force.
    if (force && loaded.error().code() == Errc::not_found && validate_container_id(id)) {
      std::error_code ec;
      if (std::filesystem::exists(store_.dir(id), ec)) return store_.remove(id);
      return ok();  // runc: delete --force of a missing container succeeds
    }
    return std::unexpected(std::move(loaded.error()));
  }
  auto rec = std::move(*loaded);
  describe(subject, store_, rec);
  auto status = store_.status(rec);
  std::unique_ptr<cgroups::Manager> mgr;
  if (!rec.cgroup.is_null()) {
    auto m = manager_of(rec);
    if (m) mgr = std::move(*m);
  }
  // runtime-spec: deleting a container that is not stopped is an error (created included);
  // --force kills it first, which is what OCI clients such as podman use.
  if (status != ContainerStatus::stopped) {
    if (!force)
      return failf(Errc::conflict, "cannot delete container \"{}\" that is not stopped: {}", id,
                   status_name(status));
  }
  if (status != ContainerStatus::stopped) {
    if (mgr) {
      auto pids = mgr->pids();
      if (pids)
        for (pid_t p : *pids) ::kill(p, SIGKILL);
      if (status == ContainerStatus::paused) (void)mgr->thaw();
    }
    stage = "kill_process_before_remove";
    ::kill(rec.init_pid, SIGKILL);
    RAIND_TRY(wait_gone(rec.init_pid, rec.init_start_time, std::chrono::seconds(10)));
  }
  if (mgr) {
    // Wait briefly for exiting tasks to leave the cgroup before removing it.
    for (int i = 0; i < 200; ++i) {
      auto pids = mgr->pids();
      if (!pids || pids->empty()) break;
      for (pid_t p : *pids) ::kill(p, SIGKILL);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  if (mgr) {
    auto st = mgr->destroy();
    if (!st) logger("droplet")->warn("remove cgroup of {}: {}", id, st.error().what());
  }
  if (auto it = rec.annotations.find(std::string(net::kNetAnnotation));
      it != rec.annotations.end()) {
    // The peer died with the namespace; the host end is ours to remove.
    auto cfg = net::parse_net_config(it->second);
    auto st =
        cfg ? net::remove_host_interface(cfg->veth_name) : Status(std::unexpected(cfg.error()));
    if (!st) logger("droplet")->warn("remove veth of {}: {}", id, st.error().what());
  }
  stage = "remove_state";
  {
    // A shim (create --tty-shim) writes exit.json once it has reaped the init; wait for that
    // last write so it cannot land in a directory being removed.
    const auto dir = store_.dir(id);
    std::error_code ec;
    if (std::filesystem::exists(dir / "init.log", ec) ||
        std::filesystem::exists(dir / "console.log", ec)) {
      for (int i = 0; i < 200 && !std::filesystem::exists(dir / "exit.json", ec); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  auto removed_state = store_.remove(id);
  for (int i = 0; i < 50 && !removed_state; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    removed_state = store_.remove(id);
  }
  RAIND_TRY(removed_state);
  stage = "hook_poststop";
  // runtime-spec: poststop hooks run after the container is deleted, before delete returns.
  auto spec = record_spec(rec);
  if (spec && spec->hooks && !spec->hooks->poststop.empty())
    run_hooks_warn(spec->hooks->poststop, hook_state(rec, "stopped", 0), "poststop");
  return ok();
}

Result<std::vector<ContainerInfo>> Runtime::list() {
  RAIND_TRY_ASSIGN(auto ids, store_.ids());
  std::vector<ContainerInfo> out;
  for (const auto& id : ids) {
    auto rec = store_.load(id);
    if (!rec) continue;
    auto status = store_.status(*rec);
    out.push_back({std::move(*rec), status});
  }
  return out;
}

}  // namespace raind::droplet

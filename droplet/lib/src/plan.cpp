// Parent-side preparation of the init: turns the OCI spec into flat, pre-resolved data.
#include "plan_builder.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "raind/droplet/image_config.hpp"
#include "raind/droplet/parse.hpp"

namespace raind::droplet {

RootPath make_root_path(std::string_view container_path) {
  RootPath p;
  p.rel = clean_container_path(container_path);
  std::size_t pos = 0;
  while (pos < p.rel.size()) {
    auto slash = p.rel.find('/', pos);
    if (slash == std::string::npos) slash = p.rel.size();
    p.prefixes.push_back(p.rel.substr(0, slash));
    p.names.push_back(p.rel.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return p;
}

void ProcessPlan::finalize_arrays() {
  argv.clear();
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  envp.clear();
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
}

namespace {

constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

int namespace_flag(std::string_view type) {
  if (type == "pid") return CLONE_NEWPID;
  if (type == "network") return CLONE_NEWNET;
  if (type == "mount") return CLONE_NEWNS;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "user") return CLONE_NEWUSER;
  if (type == "cgroup") return CLONE_NEWCGROUP;
  if (type == "time") return CLONE_NEWTIME;
  return 0;
}

std::string absolute_in(const std::filesystem::path& base, const std::string& p) {
  if (p.empty()) return base.string();
  std::filesystem::path path(p);
  if (path.is_relative()) path = base / path;
  return path.lexically_normal().string();
}

void add_device(InitPlan& plan, const std::string& path, mode_t type, std::int64_t major,
                std::int64_t minor, mode_t perm, uid_t uid, gid_t gid) {
  std::string rel = clean_container_path(path);
  for (auto& d : plan.devices) {
    if (d.path.rel == rel) {  // the spec's entry overrides a default one
      d.mode = type | perm;
      d.dev = makedev(static_cast<unsigned>(major), static_cast<unsigned>(minor));
      d.uid = uid;
      d.gid = gid;
      return;
    }
  }
  PlannedDevice d;
  d.path = make_root_path(path);
  auto slash = d.path.rel.rfind('/');
  d.dir = make_root_path(slash == std::string::npos ? "" : d.path.rel.substr(0, slash));
  d.name = d.path.names.empty() ? "" : d.path.names.back();
  d.host_path = "/" + d.path.rel;
  d.mode = type | perm;
  d.dev = makedev(static_cast<unsigned>(major), static_cast<unsigned>(minor));
  d.uid = uid;
  d.gid = gid;
  plan.devices.push_back(std::move(d));
}

void add_symlink(InitPlan& plan, const std::string& path, const std::string& target) {
  PlannedSymlink s;
  s.path = make_root_path(path);
  auto slash = s.path.rel.rfind('/');
  s.dir = make_root_path(slash == std::string::npos ? "" : s.path.rel.substr(0, slash));
  s.name = s.path.names.back();
  s.target = target;
  plan.symlinks.push_back(std::move(s));
}

// The longest mount point (from /proc/self/mountinfo) that contains path.
std::string mount_point_of(const std::filesystem::path& path) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line, best = "/";
  const std::string p = path.lexically_normal().string();
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, devs, root, mnt;
    fields >> id >> parent >> devs >> root >> mnt;
    if (mnt.size() > best.size() && (p == mnt || p.starts_with(mnt + "/"))) best = mnt;
  }
  return best;
}

bool maps_zero(const std::vector<oci::IdMapping>& maps) {
  for (const auto& m : maps)
    if (m.container_id == 0 && m.size > 0) return true;
  return false;
}

}  // namespace

Result<ProcessPlan> build_process_plan(const oci::Process& process, int preserve_fds) {
  ProcessPlan p;
  p.process = process;
  if (process.args.empty()) return fail(Errc::invalid_argument, "process.args must not be empty");
  p.args = process.args;
  p.env = process.env;
  std::string path_value = kDefaultPath;
  for (const auto& e : p.env)
    if (e.starts_with("PATH=")) path_value = e.substr(5);
  std::size_t pos = 0;
  while (pos <= path_value.size()) {
    auto colon = path_value.find(':', pos);
    if (colon == std::string::npos) colon = path_value.size();
    p.path_dirs.push_back(path_value.substr(pos, colon - pos));
    pos = colon + 1;
  }
  p.cwd = process.cwd.empty() ? "/" : process.cwd;
  if (p.cwd[0] != '/')
    return failf(Errc::invalid_argument, "process.cwd \"{}\" must be an absolute path", p.cwd);
  p.cwd_root = make_root_path(p.cwd);
  p.preserve_fds = preserve_fds;
  // Socket activation: pass LISTEN_FDS through like runc (the fds follow stdio).
  if (const char* lf = std::getenv("LISTEN_FDS")) {
    int n = std::atoi(lf);
    if (n > 0) {
      p.preserve_fds += n;
      p.listen_fds = true;
      std::erase_if(p.env, [](const std::string& e) {
        return e.starts_with("LISTEN_FDS=") || e.starts_with("LISTEN_PID=");
      });
      p.env.push_back(fmt::format("LISTEN_FDS={}", n));
      p.env.push_back("LISTEN_PID=1");
      p.listen_pid_index = p.env.size() - 1;
      p.listen_pid_buf.assign(32, '\0');
    }
  }
  p.terminal = process.terminal;
  p.console_size = process.console_size;
  for (auto g : process.user.additional_gids) p.supplementary_gids.push_back(g);
  p.finalize_arrays();
  return p;
}

namespace {

std::string overlay_mount_data(const std::vector<std::string>& lower, const std::string& upper,
                               const std::string& work, std::size_t strip) {
  std::string data = "lowerdir=";
  for (std::size_t i = 0; i < lower.size(); ++i) {
    if (i) data += ':';
    data += lower[i].substr(strip);
  }
  return data + ",upperdir=" + upper.substr(strip) + ",workdir=" + work.substr(strip);
}

Status plan_overlay(InitPlan& plan, std::string_view annotation) {
  RAIND_TRY_ASSIGN(auto cfg, parse_image_config(annotation));
  if (!plan.new_mount_ns)
    return failf(Errc::invalid_argument, "{}: an overlay rootfs needs a mount namespace",
                 kImageAnnotation);
  RAIND_TRY(check_overlay_dirs(cfg));
  plan.overlay = true;
  plan.overlay_data = overlay_mount_data(cfg.lower_dirs, cfg.upper_dir, cfg.work_dir, 0);
  // mount(2) takes at most a page of options. Kernels without the "lowerdir+" key of the new
  // mount API get paths relative to the layers' common parent directory instead.
  if (plan.overlay_data.size() >= 4096) {
    std::string base = cfg.upper_dir;
    auto common_with = [&](const std::string& p) {
      while (!base.empty() &&
             !(p.starts_with(base) && (p.size() == base.size() || p[base.size()] == '/')))
        base = base.substr(0, base.rfind('/'));
    };
    for (const auto& l : cfg.lower_dirs) common_with(l);
    common_with(cfg.work_dir);
    if (base.size() > 1) {
      plan.overlay_data_base = base;
      plan.overlay_data =
          overlay_mount_data(cfg.lower_dirs, cfg.upper_dir, cfg.work_dir, base.size() + 1);
    }
  }
  plan.overlay_lower = std::move(cfg.lower_dirs);
  plan.overlay_upper = std::move(cfg.upper_dir);
  plan.overlay_work = std::move(cfg.work_dir);
  return ok();
}

}  // namespace

Result<std::string> namespaced_sysctl_path(std::string_view key, bool private_net, bool private_ipc,
                                           bool private_uts) {
  // Only sysctls that belong to a namespace the container owns may be written: anything else
  // would change the host (kernel.panic, vm.*, the host's network stack...).
  if (key.empty() || key.front() == '.' || key.back() == '.' || key.find("..") != key.npos ||
      key.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./") !=
          key.npos)
    return failf(Errc::invalid_argument, "linux.sysctl: invalid key \"{}\"", key);
  static constexpr std::string_view kIpcKeys[] = {
      "kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem",
      "kernel.shmall", "kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"};
  auto needs = [&](bool have, const char* ns) -> Status {
    if (have) return ok();
    return failf(Errc::invalid_argument,
                 "linux.sysctl \"{}\" needs a private {} namespace (it would change the host)", key,
                 ns);
  };
  if (key.starts_with("net."))
    RAIND_TRY(needs(private_net, "network"));
  else if (key.starts_with("fs.mqueue.") ||
           std::find(std::begin(kIpcKeys), std::end(kIpcKeys), key) != std::end(kIpcKeys))
    RAIND_TRY(needs(private_ipc, "ipc"));
  else if (key == "kernel.hostname" || key == "kernel.domainname")
    RAIND_TRY(needs(private_uts, "uts"));
  else
    return failf(Errc::invalid_argument,
                 "linux.sysctl \"{}\" is not namespaced: refusing to change the host", key);
  // Dots separate levels; a slash stands for a dot inside a name (eth0/100 is eth0.100).
  std::string path = "/proc/sys/";
  for (char c : key) path += c == '.' ? '/' : c == '/' ? '.' : c;
  return path;
}

Result<InitPlan> build_init_plan(const oci::Spec& spec, const PlanOptions& options) {
  InitPlan plan;
  plan.id = options.id;
  if (!spec.root) return fail(Errc::invalid_argument, "root.path is required");
  plan.rootfs = absolute_in(options.bundle, spec.root->path);
  plan.bundle = options.bundle.string();
  if (auto it = spec.annotations.find("io.raind.integrity"); it != spec.annotations.end())
    plan.strict_integrity = it->second == "strict";
  struct stat st {};
  if (::stat(plan.rootfs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return failf(Errc::not_found, "rootfs \"{}\" does not exist", plan.rootfs);
  plan.readonly_root = spec.root->readonly;
  plan.no_pivot = options.no_pivot;

  bool has_uts = false;
  if (spec.linux_) {
    const auto& lx = *spec.linux_;
    std::vector<JoinNamespace> joins;
    for (const auto& ns : lx.namespaces) {
      int flag = namespace_flag(ns.type);
      if (!flag) return failf(Errc::invalid_argument, "unknown namespace type \"{}\"", ns.type);
      if (flag == CLONE_NEWUTS) has_uts = true;
      if (flag == CLONE_NEWNS) plan.new_mount_ns = true;
      if (!ns.path.empty()) {
        int fd = ::open(ns.path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return fail_errno(fmt::format("open {} namespace path {}", ns.type, ns.path));
        JoinNamespace j{flag, fd};
        if (flag == CLONE_NEWUSER)
          joins.insert(joins.begin(), j);
        else
          joins.push_back(j);
        continue;
      }
      switch (flag) {
        case CLONE_NEWUSER:
          plan.new_userns = true;
          break;
        case CLONE_NEWCGROUP:
          plan.new_cgroupns = true;
          break;
        case CLONE_NEWTIME:
          plan.new_timens = true;
          break;
        default:
          plan.clone_flags |= flag;
      }
    }
    if (plan.new_userns) plan.clone_flags |= CLONE_NEWUSER;
    plan.joins = std::move(joins);
    plan.two_stage = !plan.joins.empty() || plan.new_timens;
    if (plan.new_userns) {
      if (lx.uid_mappings.empty() || lx.gid_mappings.empty())
        return fail(Errc::invalid_argument,
                    "user namespace requires linux.uidMappings and linux.gidMappings");
      plan.root_mapped = maps_zero(lx.uid_mappings) && maps_zero(lx.gid_mappings);
    }
    for (const auto& [clock, off] : lx.time_offsets)
      plan.time_offsets += fmt::format("{} {} {}\n", clock, off.first, off.second);
    if (lx.personality.is_object() && lx.personality.contains("domain")) {
      const auto& domain = lx.personality["domain"];
      if (domain == "LINUX")
        plan.personality = PER_LINUX;
      else if (domain == "LINUX32")
        plan.personality = PER_LINUX32;
      else
        return failf(Errc::invalid_argument, "linux.personality: unsupported domain {}",
                     domain.dump());
    }
    RAIND_TRY_ASSIGN(plan.root_propagation, parse_propagation(lx.rootfs_propagation));
    if (plan.root_propagation & MS_SHARED)
      plan.rootfs_parent_mount = mount_point_of(std::filesystem::path(plan.rootfs).parent_path());
    for (const auto& p : lx.masked_paths)
      plan.masked_paths.push_back("/" + clean_container_path(p));
    for (const auto& p : lx.readonly_paths)
      plan.readonly_paths.push_back("/" + clean_container_path(p));
    auto has_ns = [&](const char* type) {
      return std::any_of(lx.namespaces.begin(), lx.namespaces.end(),
                         [&](const oci::Namespace& ns) { return ns.type == type; });
    };
    for (const auto& [key, value] : lx.sysctl) {
      RAIND_TRY_ASSIGN(
          auto path, namespaced_sysctl_path(key, has_ns("network"), has_ns("ipc"), has_ns("uts")));
      plan.sysctl.emplace_back(std::move(path), value);
    }
  }
  if (!spec.hostname.empty()) {
    if (!has_uts)
      return fail(Errc::invalid_argument, "unable to set hostname without a private UTS namespace");
    plan.hostname = spec.hostname;
  }
  if (!spec.domainname.empty()) {
    if (!has_uts)
      return fail(Errc::invalid_argument,
                  "unable to set domainname without a private UTS namespace");
    plan.domainname = spec.domainname;
  }

  if (auto it = spec.annotations.find(std::string(kImageAnnotation)); it != spec.annotations.end())
    RAIND_TRY(plan_overlay(plan, it->second));

  bool dev_bound = false, dev_mounted = false, has_pts = false, has_shm = false;
  for (const auto& m : spec.mounts) {
    auto opts = parse_mount_options(m.options);
    PlannedMount pm;
    pm.dest = make_root_path(m.destination);
    pm.dest_abs = "/" + pm.dest.rel;
    pm.type = m.type;
    pm.data = opts.data;
    pm.propagation = opts.propagation;
    pm.tmpcopyup = opts.tmpcopyup;
    bool is_bind = opts.bind || m.type == "bind";
    if (is_bind) {
      pm.kind = MountKind::bind;
      pm.source = absolute_in(options.bundle, m.source);
      struct stat sst {};
      if (::stat(pm.source.c_str(), &sst) != 0)
        return failf(Errc::not_found, "mount source \"{}\" for {} does not exist", pm.source,
                     pm.dest_abs);
      pm.source_is_dir = S_ISDIR(sst.st_mode);
      pm.flags = MS_BIND | (opts.recursive_bind ? MS_REC : 0);
      pm.remount_flags = opts.bind_remount_flags;
      pm.needs_remount = pm.remount_flags != 0;
      if (pm.dest.rel == "dev") dev_bound = true;
    } else {
      pm.source = m.source.empty() ? m.type : m.source;
      pm.flags = opts.flags & ~(MS_BIND | MS_REC);
      if (m.type == "cgroup" || m.type == "cgroup2") {
        if (options.cgroup_v1 && m.type == "cgroup") {
          pm.kind = MountKind::cgroup_v1;
        } else {
          pm.type = "cgroup2";
          pm.kind = MountKind::cgroup2;
        }
      } else if (m.type == "sysfs") {
        pm.kind = MountKind::sysfs;
      }
      if (pm.dest.rel == "dev") dev_mounted = true;
    }
    if (pm.dest.rel == "dev/pts") has_pts = true;
    if (pm.dest.rel == "dev/shm") has_shm = true;
    plan.mounts.push_back(std::move(pm));
  }
  if (plan.new_mount_ns && !dev_bound) {
    // The default devices every container gets (OCI runtime-spec "Default Devices").
    add_device(plan, "/dev/null", S_IFCHR, 1, 3, 0666, 0, 0);
    add_device(plan, "/dev/zero", S_IFCHR, 1, 5, 0666, 0, 0);
    add_device(plan, "/dev/full", S_IFCHR, 1, 7, 0666, 0, 0);
    add_device(plan, "/dev/random", S_IFCHR, 1, 8, 0666, 0, 0);
    add_device(plan, "/dev/urandom", S_IFCHR, 1, 9, 0666, 0, 0);
    add_device(plan, "/dev/tty", S_IFCHR, 5, 0, 0666, 0, 0);
    if (spec.linux_) {
      for (const auto& d : spec.linux_->devices) {
        mode_t type;
        if (d.type == "c" || d.type == "u")
          type = S_IFCHR;
        else if (d.type == "b")
          type = S_IFBLK;
        else if (d.type == "p")
          type = S_IFIFO;
        else
          return failf(Errc::invalid_argument, "device {}: invalid type \"{}\"", d.path, d.type);
        add_device(plan, d.path, type, d.major, d.minor,
                   static_cast<mode_t>(d.file_mode.value_or(0666) & 07777), d.uid.value_or(0),
                   d.gid.value_or(0));
      }
    }
    if (dev_mounted && !has_pts) plan.mount_devpts = true;
    if (dev_mounted && !has_shm) plan.mount_shm = true;
    add_symlink(plan, "/dev/fd", "/proc/self/fd");
    add_symlink(plan, "/dev/stdin", "/proc/self/fd/0");
    add_symlink(plan, "/dev/stdout", "/proc/self/fd/1");
    add_symlink(plan, "/dev/stderr", "/proc/self/fd/2");
    if (has_pts || plan.mount_devpts) add_symlink(plan, "/dev/ptmx", "pts/ptmx");
  }

  if (!spec.process) return fail(Errc::invalid_argument, "process is required");
  RAIND_TRY_ASSIGN(plan.proc, build_process_plan(*spec.process, options.preserve_fds));
  if (spec.hooks) {
    plan.start_hooks = spec.hooks->start_container;
    plan.want_hooks_pause = !spec.hooks->prestart.empty() || !spec.hooks->create_runtime.empty() ||
                            !spec.hooks->create_container.empty();
  }
  plan.buffer.assign(64 * 1024, '\0');
  plan.cgroup_binds.reserve(16 * 1024);
  return plan;
}

void close_plan_fds(InitPlan& plan) {
  for (auto& j : plan.joins)
    if (j.fd >= 0) ::close(std::exchange(j.fd, -1));
}

}  // namespace raind::droplet

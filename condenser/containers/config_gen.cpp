#include "condenser/containers/config_gen.hpp"

#include <cmath>

#include <fmt/core.h>

#include "condenser/containers/etc_files.hpp"

namespace raind::condenser::containers {
namespace {

using json = nlohmann::json;

constexpr std::string_view kDefaultPath =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Hook phases in the order droplet runs them; stopContainer is Raind's extension run by `kill`.
constexpr std::string_view kHookPhases[] = {"createRuntime", "createContainer", "poststart",
                                            "stopContainer", "poststop"};

std::vector<oci::Mount> standard_mounts() {
  return {
      {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}, {}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}, {}},
      {"/dev/pts",
       "devpts",
       "devpts",
       {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
       {}},
      {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}, {}},
      {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}, {}},
      {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}, {}},
      {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}, {}},
  };
}

const std::vector<std::string>& masked_paths() {
  static const std::vector<std::string> paths = {"/proc/acpi",
                                                 "/proc/asound",
                                                 "/proc/kcore",
                                                 "/proc/keys",
                                                 "/proc/latency_stats",
                                                 "/proc/timer_list",
                                                 "/proc/timer_stats",
                                                 "/proc/sched_debug",
                                                 "/proc/scsi",
                                                 "/sys/firmware",
                                                 "/sys/devices/virtual/powercap"};
  return paths;
}

const std::vector<std::string>& readonly_paths() {
  static const std::vector<std::string> paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                 "/proc/sysrq-trigger"};
  return paths;
}

std::string_view env_key(std::string_view entry) {
  return entry.substr(0, entry.find('='));
}

void set_env(std::vector<std::string>& env, std::string entry) {
  std::string_view key = env_key(entry);
  for (auto& existing : env) {
    if (env_key(existing) == key) {
      existing = std::move(entry);
      return;
    }
  }
  env.push_back(std::move(entry));
}

bool has_env(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env)
    if (env_key(e) == key) return true;
  return false;
}

Result<oci::Resources> resource_limits(const ContainerRequest& request) {
  std::int64_t memory = request.memory_bytes.value_or(kDefaultMemoryBytes);
  double cpus = request.cpus.value_or(kDefaultCpus);
  std::int64_t pids = request.pids_limit.value_or(kDefaultPidsLimit);
  if (memory < kMinMemoryBytes)
    return failf(Errc::invalid_argument, "memory limit {} bytes is below the minimum of {} bytes",
                 memory, kMinMemoryBytes);
  if (!(cpus >= 0.01) || cpus > 1024)
    return failf(Errc::invalid_argument, "cpus {} is outside 0.01..1024", cpus);
  if (pids < 1) return failf(Errc::invalid_argument, "pids limit {} must be at least 1", pids);
  oci::Resources r;
  r.devices = {oci::DeviceCgroup{false, "", std::nullopt, std::nullopt, "rwm"}};
  oci::MemoryResources mem;
  mem.limit = memory;
  r.memory = mem;
  oci::CpuResources cpu;
  cpu.period = kCpuPeriod;
  cpu.quota = static_cast<std::int64_t>(std::llround(cpus * static_cast<double>(kCpuPeriod)));
  r.cpu = cpu;
  r.pids = oci::PidsResources{pids};
  return r;
}

// common's spec_to_json() writes only the device part of linux.resources, so the limits are
// serialised here.
json resources_json(const oci::Resources& r) {
  json out = json::object();
  json devices = json::array();
  for (const auto& d : r.devices) {
    json dj = {{"allow", d.allow}, {"access", d.access}};
    if (!d.type.empty()) dj["type"] = d.type;
    devices.push_back(dj);
  }
  out["devices"] = devices;
  if (r.memory && r.memory->limit) out["memory"] = {{"limit", *r.memory->limit}};
  if (r.cpu)
    out["cpu"] = {{"quota", r.cpu->quota.value_or(0)}, {"period", r.cpu->period.value_or(0)}};
  if (r.pids) out["pids"] = {{"limit", r.pids->limit}};
  return out;
}

oci::Mount etc_bind(std::string destination, const std::string& source, bool read_only) {
  oci::Mount m{std::move(destination),
               "bind",
               source,
               {"rbind", "rprivate", "nosuid", "nodev", "noexec"},
               {}};
  if (read_only) m.options.push_back("ro");
  return m;
}

oci::Hook hook_for(const HookCommand& command, std::string_view phase) {
  oci::Hook hook;
  hook.path = command.path;
  hook.args = {"condenserd", "hook", "--event", std::string(phase)};
  hook.args.insert(hook.args.end(), command.extra_args.begin(), command.extra_args.end());
  hook.env = command.env;
  if (command.timeout_seconds > 0) hook.timeout = command.timeout_seconds;
  return hook;
}

oci::Hooks lifecycle_hooks(const HookCommand& command) {
  oci::Hooks hooks;
  std::vector<oci::Hook>* lists[] = {&hooks.create_runtime, &hooks.create_container,
                                     &hooks.poststart, &hooks.stop_container, &hooks.poststop};
  for (std::size_t i = 0; i < std::size(kHookPhases); ++i)
    lists[i]->push_back(hook_for(command, kHookPhases[i]));
  return hooks;
}

Result<std::string> working_directory(const ImageConfig& image, const ContainerRequest& request) {
  std::string dir = request.workdir.empty() ? image.working_dir : request.workdir;
  if (dir.empty() || dir == "/") return std::string("/");
  // OCI images should carry absolute paths; older Docker images sometimes do not.
  if (request.workdir.empty() && dir.front() != '/') dir.insert(0, "/");
  return with_context(normalize_container_path(dir), "working directory");
}

Status check_context(const GenerateContext& c) {
  auto absolute = [](const std::string& path, std::string_view what) -> Status {
    if (path.empty() || path.front() != '/')
      return failf(Errc::invalid_argument, "generate config: {} \"{}\" is not absolute", what,
                   path);
    return ok();
  };
  if (c.container_id.empty())
    return fail(Errc::invalid_argument, "generate config: no container id");
  RAIND_TRY(absolute(c.rootfs, "rootfs"));
  if (c.overlay.lower_dirs.empty())
    return fail(Errc::invalid_argument, "generate config: the image has no layers");
  for (const auto& dir : c.overlay.lower_dirs) RAIND_TRY(absolute(dir, "layer directory"));
  RAIND_TRY(absolute(c.overlay.upper_dir, "upper directory"));
  RAIND_TRY(absolute(c.overlay.work_dir, "work directory"));
  RAIND_TRY(absolute(c.hosts_path, "hosts file"));
  RAIND_TRY(absolute(c.hostname_path, "hostname file"));
  RAIND_TRY(absolute(c.resolv_conf_path, "resolv.conf file"));
  if (c.hook) RAIND_TRY(absolute(c.hook->path, "hook binary"));
  return ok();
}

}  // namespace

Result<std::vector<std::string>> container_argv(const ImageConfig& image,
                                                const ContainerRequest& request) {
  std::vector<std::string> argv = request.entrypoint ? *request.entrypoint : image.entrypoint;
  const auto& tail = request.command.empty() ? image.cmd : request.command;
  argv.insert(argv.end(), tail.begin(), tail.end());
  if (argv.empty() || argv.front().empty())
    return fail(Errc::invalid_argument,
                "no command: the image has no Entrypoint or Cmd and the request gives none");
  return argv;
}

Result<std::vector<std::string>> container_env(const ImageConfig& image,
                                               const ContainerRequest& request,
                                               const std::string& hostname) {
  std::vector<std::string> env;
  for (const auto& entry : image.env)
    if (entry.find('=') != std::string::npos && entry.front() != '=') set_env(env, entry);
  if (!has_env(env, "PATH")) env.insert(env.begin(), std::string(kDefaultPath));
  set_env(env, "HOSTNAME=" + hostname);
  if (request.tty && !has_env(env, "TERM")) env.push_back("TERM=xterm");
  for (const auto& entry : request.env) {
    auto eq = entry.find('=');
    if (eq == std::string::npos || eq == 0)
      return failf(Errc::invalid_argument, "env \"{}\": expected KEY=VALUE", entry);
    if (entry.find('\0') != std::string::npos)
      return failf(Errc::invalid_argument, "env \"{}\": contains a NUL byte", entry.substr(0, eq));
    set_env(env, entry);
  }
  return env;
}

Result<oci::Spec> generate_container_config(const ImageConfig& image,
                                            const ContainerRequest& request,
                                            const GenerateContext& context) {
  RAIND_TRY(check_context(context));
  const std::string hostname = request.hostname.empty() ? context.container_id : request.hostname;
  RAIND_TRY(validate_hostname(hostname));

  oci::Spec spec;
  spec.oci_version = std::string(oci::kOciVersion);
  spec.hostname = hostname;
  spec.root = oci::Root{context.rootfs, request.read_only};

  oci::Process process;
  process.terminal = request.tty;
  RAIND_TRY_ASSIGN(process.args, container_argv(image, request));
  RAIND_TRY_ASSIGN(process.env, container_env(image, request, hostname));
  RAIND_TRY_ASSIGN(process.cwd, working_directory(image, request));
  RAIND_TRY_ASSIGN(UserIds ids, resolve_user(request.user.empty() ? image.user : request.user,
                                             context.accounts));
  process.user.uid = ids.uid;
  process.user.gid = ids.gid;
  process.rlimits = {{"RLIMIT_NOFILE", 1024, 1024}};
  spec.process = std::move(process);

  spec.mounts = standard_mounts();
  spec.mounts.push_back(etc_bind("/etc/hosts", context.hosts_path, request.read_only));
  spec.mounts.push_back(etc_bind("/etc/hostname", context.hostname_path, request.read_only));
  spec.mounts.push_back(etc_bind("/etc/resolv.conf", context.resolv_conf_path, request.read_only));
  for (const auto& volume : request.volumes) {
    for (const auto& existing : spec.mounts)
      if (existing.destination == volume.destination)
        return failf(Errc::invalid_argument,
                     "volume destination \"{}\" clashes with a mount the runtime provides",
                     volume.destination);
    spec.mounts.push_back(volume.to_mount());
  }

  if (context.hook) spec.hooks = lifecycle_hooks(*context.hook);

  spec.annotations.emplace(std::string(kImageAnnotation), image_annotation(context.overlay));
  if (context.network) {
    const auto& n = *context.network;
    if (n.bridge.empty() || n.veth.empty())
      return fail(Errc::invalid_argument,
                  "generate config: network attachment lacks bridge or veth");
    spec.annotations.emplace(std::string(kNetAnnotation), net_annotation(n));
  }

  oci::Linux linux_config;
  linux_config.namespaces = {{"pid", ""}, {"network", ""}, {"ipc", ""},
                             {"uts", ""}, {"mount", ""},   {"cgroup", ""}};
  linux_config.masked_paths = masked_paths();
  linux_config.readonly_paths = readonly_paths();
  linux_config.cgroups_path = context.cgroups_path;
  RAIND_TRY_ASSIGN(linux_config.resources, resource_limits(request));
  spec.linux_ = std::move(linux_config);

  // Last: it rebuilds spec.raw from the struct, which fixes the `linux` object as written.
  oci::apply_security_profile(spec, context.security);
  spec.raw["linux"]["resources"] = resources_json(*spec.linux_->resources);

  RAIND_TRY(with_context(oci::validate_spec(spec), "generated config"));
  return spec;
}

json container_config_json(const oci::Spec& spec) {
  return oci::spec_to_json(spec);
}

}  // namespace raind::condenser::containers

#include "raind/oci/runtime_spec.hpp"

#include <algorithm>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

namespace raind::oci {
namespace {

using nlohmann::json;

// Thrown only inside this file and converted to raind::Error at the API boundary.
struct FieldError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string join_path(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

[[noreturn]] void type_error(const std::string& path, std::string_view expected, const json& got) {
  throw FieldError(fmt::format("{}: expected {}, got {}", path, expected, got.type_name()));
}

// Typed field readers. A missing or null field leaves the output untouched.
const json* field(const json& object, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

void expect_object(const json& value, const std::string& path) {
  if (!value.is_object()) type_error(path, "object", value);
}

std::string as_string(const json& value, const std::string& path) {
  if (!value.is_string()) type_error(path, "string", value);
  return value.get<std::string>();
}
bool as_bool(const json& value, const std::string& path) {
  if (!value.is_boolean()) type_error(path, "boolean", value);
  return value.get<bool>();
}
std::int64_t as_int(const json& value, const std::string& path) {
  if (!value.is_number_integer()) type_error(path, "integer", value);
  return value.get<std::int64_t>();
}
std::uint64_t as_uint(const json& value, const std::string& path) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0)
    return static_cast<std::uint64_t>(value.get<std::int64_t>());
  type_error(path, "unsigned integer", value);
}
std::uint32_t as_u32(const json& value, const std::string& path) {
  std::uint64_t v = as_uint(value, path);
  if (v > 0xffffffffull) throw FieldError(fmt::format("{}: value {} out of range", path, v));
  return static_cast<std::uint32_t>(v);
}
std::uint16_t as_u16(const json& value, const std::string& path) {
  std::uint64_t v = as_uint(value, path);
  if (v > 0xffffull) throw FieldError(fmt::format("{}: value {} out of range", path, v));
  return static_cast<std::uint16_t>(v);
}

std::vector<std::string> as_string_list(const json& value, const std::string& path) {
  if (!value.is_array()) type_error(path, "array of strings", value);
  std::vector<std::string> out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i)
    out.push_back(as_string(value[i], fmt::format("{}[{}]", path, i)));
  return out;
}

std::map<std::string, std::string> as_string_map(const json& value, const std::string& path) {
  expect_object(value, path);
  std::map<std::string, std::string> out;
  for (auto it = value.begin(); it != value.end(); ++it)
    out[it.key()] = as_string(it.value(), join_path(path, it.key()));
  return out;
}

template <class T, class Fn>
std::vector<T> as_list(const json& value, const std::string& path, Fn&& parse_item) {
  if (!value.is_array()) type_error(path, "array", value);
  std::vector<T> out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i)
    out.push_back(parse_item(value[i], fmt::format("{}[{}]", path, i)));
  return out;
}

#define READ(obj, key, out, conv)                                                \
  do {                                                                           \
    if (const json* f_ = field(obj, key)) out = conv(*f_, join_path(path, key)); \
  } while (0)

User parse_user(const json& v, const std::string& path) {
  expect_object(v, path);
  User u;
  READ(v, "uid", u.uid, as_u32);
  READ(v, "gid", u.gid, as_u32);
  READ(v, "umask", u.umask, as_u32);
  if (const json* f = field(v, "additionalGids"))
    u.additional_gids = as_list<std::uint32_t>(*f, join_path(path, "additionalGids"), as_u32);
  READ(v, "username", u.username, as_string);
  return u;
}

Capabilities parse_caps(const json& v, const std::string& path) {
  expect_object(v, path);
  Capabilities c;
  READ(v, "bounding", c.bounding, as_string_list);
  READ(v, "effective", c.effective, as_string_list);
  READ(v, "inheritable", c.inheritable, as_string_list);
  READ(v, "permitted", c.permitted, as_string_list);
  READ(v, "ambient", c.ambient, as_string_list);
  return c;
}

Rlimit parse_rlimit(const json& v, const std::string& path) {
  expect_object(v, path);
  Rlimit r;
  READ(v, "type", r.type, as_string);
  READ(v, "hard", r.hard, as_uint);
  READ(v, "soft", r.soft, as_uint);
  if (r.type.empty()) throw FieldError(fmt::format("{}.type: required", path));
  return r;
}

ConsoleSize parse_console_size(const json& v, const std::string& path) {
  expect_object(v, path);
  ConsoleSize size;
  READ(v, "height", size.height, as_u32);
  READ(v, "width", size.width, as_u32);
  return size;
}

Process parse_process_object(const json& v, const std::string& path) {
  expect_object(v, path);
  Process p;
  READ(v, "terminal", p.terminal, as_bool);
  if (const json* f = field(v, "consoleSize"))
    p.console_size = parse_console_size(*f, join_path(path, "consoleSize"));
  if (const json* f = field(v, "user")) p.user = parse_user(*f, join_path(path, "user"));
  READ(v, "args", p.args, as_string_list);
  READ(v, "env", p.env, as_string_list);
  READ(v, "cwd", p.cwd, as_string);
  if (const json* f = field(v, "capabilities"))
    p.capabilities = parse_caps(*f, join_path(path, "capabilities"));
  if (const json* f = field(v, "rlimits"))
    p.rlimits = as_list<Rlimit>(*f, join_path(path, "rlimits"), parse_rlimit);
  READ(v, "noNewPrivileges", p.no_new_privileges, as_bool);
  READ(v, "apparmorProfile", p.apparmor_profile, as_string);
  if (const json* f = field(v, "oomScoreAdj")) {
    std::int64_t adj = as_int(*f, join_path(path, "oomScoreAdj"));
    if (adj < -1000 || adj > 1000)
      throw FieldError(fmt::format("{}.oomScoreAdj: {} outside -1000..1000", path, adj));
    p.oom_score_adj = static_cast<int>(adj);
  }
  READ(v, "selinuxLabel", p.selinux_label, as_string);
  return p;
}

Mount parse_mount(const json& v, const std::string& path) {
  expect_object(v, path);
  Mount m;
  READ(v, "destination", m.destination, as_string);
  READ(v, "type", m.type, as_string);
  READ(v, "source", m.source, as_string);
  READ(v, "options", m.options, as_string_list);
  if (m.destination.empty()) throw FieldError(fmt::format("{}.destination: required", path));
  return m;
}

Hook parse_hook(const json& v, const std::string& path) {
  expect_object(v, path);
  Hook h;
  READ(v, "path", h.path, as_string);
  READ(v, "args", h.args, as_string_list);
  READ(v, "env", h.env, as_string_list);
  if (const json* f = field(v, "timeout")) {
    std::int64_t t = as_int(*f, join_path(path, "timeout"));
    if (t <= 0) throw FieldError(fmt::format("{}.timeout: must be greater than zero", path));
    h.timeout = static_cast<int>(t);
  }
  if (h.path.empty()) throw FieldError(fmt::format("{}.path: required", path));
  return h;
}

Hooks parse_hooks(const json& v, const std::string& path) {
  expect_object(v, path);
  Hooks h;
  auto list = [&](std::string_view key, std::vector<Hook>& out) {
    if (const json* f = field(v, key)) out = as_list<Hook>(*f, join_path(path, key), parse_hook);
  };
  list("prestart", h.prestart);
  list("createRuntime", h.create_runtime);
  list("createContainer", h.create_container);
  list("startContainer", h.start_container);
  list("poststart", h.poststart);
  list("poststop", h.poststop);
  list("stopContainer", h.stop_container);
  return h;
}

Namespace parse_namespace(const json& v, const std::string& path) {
  expect_object(v, path);
  Namespace n;
  READ(v, "type", n.type, as_string);
  READ(v, "path", n.path, as_string);
  return n;
}

IdMapping parse_idmap(const json& v, const std::string& path) {
  expect_object(v, path);
  IdMapping m;
  READ(v, "containerID", m.container_id, as_u32);
  READ(v, "hostID", m.host_id, as_u32);
  READ(v, "size", m.size, as_u32);
  return m;
}

Device parse_device(const json& v, const std::string& path) {
  expect_object(v, path);
  Device d;
  READ(v, "type", d.type, as_string);
  READ(v, "path", d.path, as_string);
  READ(v, "major", d.major, as_int);
  READ(v, "minor", d.minor, as_int);
  READ(v, "fileMode", d.file_mode, as_u32);
  READ(v, "uid", d.uid, as_u32);
  READ(v, "gid", d.gid, as_u32);
  return d;
}

DeviceCgroup parse_device_cgroup(const json& v, const std::string& path) {
  expect_object(v, path);
  DeviceCgroup d;
  READ(v, "allow", d.allow, as_bool);
  READ(v, "type", d.type, as_string);
  READ(v, "major", d.major, as_int);
  READ(v, "minor", d.minor, as_int);
  READ(v, "access", d.access, as_string);
  return d;
}

BlockIoDevice parse_blkio_device(const json& v, const std::string& path) {
  expect_object(v, path);
  BlockIoDevice d;
  READ(v, "major", d.major, as_int);
  READ(v, "minor", d.minor, as_int);
  READ(v, "weight", d.weight, as_u16);
  READ(v, "leafWeight", d.leaf_weight, as_u16);
  READ(v, "rate", d.rate, as_uint);
  return d;
}

MemoryResources parse_memory(const json& v, const std::string& path) {
  expect_object(v, path);
  MemoryResources m;
  READ(v, "limit", m.limit, as_int);
  READ(v, "reservation", m.reservation, as_int);
  READ(v, "swap", m.swap, as_int);
  READ(v, "kernel", m.kernel, as_int);
  READ(v, "kernelTCP", m.kernel_tcp, as_int);
  READ(v, "swappiness", m.swappiness, as_uint);
  READ(v, "disableOOMKiller", m.disable_oom_killer, as_bool);
  READ(v, "useHierarchy", m.use_hierarchy, as_bool);
  READ(v, "checkBeforeUpdate", m.check_before_update, as_bool);
  return m;
}

CpuResources parse_cpu(const json& v, const std::string& path) {
  expect_object(v, path);
  CpuResources c;
  READ(v, "shares", c.shares, as_uint);
  READ(v, "quota", c.quota, as_int);
  READ(v, "burst", c.burst, as_uint);
  READ(v, "period", c.period, as_uint);
  READ(v, "realtimeRuntime", c.realtime_runtime, as_int);
  READ(v, "realtimePeriod", c.realtime_period, as_uint);
  READ(v, "cpus", c.cpus, as_string);
  READ(v, "mems", c.mems, as_string);
  READ(v, "idle", c.idle, as_int);
  return c;
}

PidsResources parse_pids(const json& v, const std::string& path) {
  expect_object(v, path);
  PidsResources p;
  READ(v, "limit", p.limit, as_int);
  return p;
}

BlockIoResources parse_block_io(const json& v, const std::string& path) {
  expect_object(v, path);
  BlockIoResources b;
  READ(v, "weight", b.weight, as_u16);
  READ(v, "leafWeight", b.leaf_weight, as_u16);
  auto devs = [&](std::string_view key, std::vector<BlockIoDevice>& out) {
    if (const json* d = field(v, key))
      out = as_list<BlockIoDevice>(*d, join_path(path, key), parse_blkio_device);
  };
  devs("weightDevice", b.weight_device);
  devs("throttleReadBpsDevice", b.throttle_read_bps_device);
  devs("throttleWriteBpsDevice", b.throttle_write_bps_device);
  devs("throttleReadIOPSDevice", b.throttle_read_iops_device);
  devs("throttleWriteIOPSDevice", b.throttle_write_iops_device);
  return b;
}

HugepageLimit parse_hugepage(const json& v, const std::string& path) {
  expect_object(v, path);
  HugepageLimit h;
  READ(v, "pageSize", h.page_size, as_string);
  READ(v, "limit", h.limit, as_uint);
  return h;
}

Resources parse_resources(const json& v, const std::string& path) {
  expect_object(v, path);
  Resources r;
  if (const json* f = field(v, "devices"))
    r.devices = as_list<DeviceCgroup>(*f, join_path(path, "devices"), parse_device_cgroup);
  if (const json* f = field(v, "memory")) r.memory = parse_memory(*f, join_path(path, "memory"));
  if (const json* f = field(v, "cpu")) r.cpu = parse_cpu(*f, join_path(path, "cpu"));
  if (const json* f = field(v, "pids")) r.pids = parse_pids(*f, join_path(path, "pids"));
  if (const json* f = field(v, "blockIO"))
    r.block_io = parse_block_io(*f, join_path(path, "blockIO"));
  if (const json* f = field(v, "hugepageLimits")) {
    r.hugepage_limits =
        as_list<HugepageLimit>(*f, join_path(path, "hugepageLimits"), parse_hugepage);
  }
  READ(v, "unified", r.unified, as_string_map);
  return r;
}

SeccompArg parse_seccomp_arg(const json& v, const std::string& path) {
  expect_object(v, path);
  SeccompArg a;
  READ(v, "index", a.index, as_u32);
  READ(v, "value", a.value, as_uint);
  READ(v, "valueTwo", a.value_two, as_uint);
  READ(v, "op", a.op, as_string);
  return a;
}

SeccompSyscall parse_seccomp_syscall(const json& v, const std::string& path) {
  expect_object(v, path);
  SeccompSyscall s;
  READ(v, "names", s.names, as_string_list);
  READ(v, "action", s.action, as_string);
  READ(v, "errnoRet", s.errno_ret, as_u32);
  if (const json* f = field(v, "args"))
    s.args = as_list<SeccompArg>(*f, join_path(path, "args"), parse_seccomp_arg);
  return s;
}

Seccomp parse_seccomp(const json& v, const std::string& path) {
  expect_object(v, path);
  Seccomp s;
  READ(v, "defaultAction", s.default_action, as_string);
  READ(v, "defaultErrnoRet", s.default_errno_ret, as_u32);
  READ(v, "architectures", s.architectures, as_string_list);
  READ(v, "flags", s.flags, as_string_list);
  READ(v, "listenerPath", s.listener_path, as_string);
  READ(v, "listenerMetadata", s.listener_metadata, as_string);
  if (const json* f = field(v, "syscalls"))
    s.syscalls = as_list<SeccompSyscall>(*f, join_path(path, "syscalls"), parse_seccomp_syscall);
  return s;
}

std::pair<std::int64_t, std::uint32_t> parse_time_offset(const json& v, const std::string& path) {
  expect_object(v, path);
  std::int64_t secs = 0;
  std::uint32_t nsecs = 0;
  READ(v, "secs", secs, as_int);
  READ(v, "nanosecs", nsecs, as_u32);
  return {secs, nsecs};
}

Linux parse_linux(const json& v, const std::string& path) {
  expect_object(v, path);
  Linux l;
  if (const json* f = field(v, "namespaces"))
    l.namespaces = as_list<Namespace>(*f, join_path(path, "namespaces"), parse_namespace);
  if (const json* f = field(v, "uidMappings"))
    l.uid_mappings = as_list<IdMapping>(*f, join_path(path, "uidMappings"), parse_idmap);
  if (const json* f = field(v, "gidMappings"))
    l.gid_mappings = as_list<IdMapping>(*f, join_path(path, "gidMappings"), parse_idmap);
  if (const json* f = field(v, "timeOffsets")) {
    const std::string tpath = join_path(path, "timeOffsets");
    expect_object(*f, tpath);
    for (auto it = f->begin(); it != f->end(); ++it)
      l.time_offsets[it.key()] = parse_time_offset(it.value(), join_path(tpath, it.key()));
  }
  if (const json* f = field(v, "devices"))
    l.devices = as_list<Device>(*f, join_path(path, "devices"), parse_device);
  READ(v, "cgroupsPath", l.cgroups_path, as_string);
  if (const json* f = field(v, "resources"))
    l.resources = parse_resources(*f, join_path(path, "resources"));
  READ(v, "rootfsPropagation", l.rootfs_propagation, as_string);
  READ(v, "maskedPaths", l.masked_paths, as_string_list);
  READ(v, "readonlyPaths", l.readonly_paths, as_string_list);
  READ(v, "mountLabel", l.mount_label, as_string);
  READ(v, "sysctl", l.sysctl, as_string_map);
  if (const json* f = field(v, "seccomp"))
    l.seccomp = parse_seccomp(*f, join_path(path, "seccomp"));
  if (const json* f = field(v, "personality")) l.personality = *f;
  return l;
}

Root parse_root(const json& v, const std::string& path) {
  expect_object(v, path);
  Root r;
  READ(v, "path", r.path, as_string);
  READ(v, "readonly", r.readonly, as_bool);
  return r;
}

Spec parse_spec_object(const json& v) {
  const std::string path;
  if (!v.is_object()) type_error("config", "object", v);
  Spec s;
  READ(v, "ociVersion", s.oci_version, as_string);
  if (const json* f = field(v, "process")) s.process = parse_process_object(*f, "process");
  if (const json* f = field(v, "root")) s.root = parse_root(*f, "root");
  READ(v, "hostname", s.hostname, as_string);
  READ(v, "domainname", s.domainname, as_string);
  if (const json* f = field(v, "mounts")) s.mounts = as_list<Mount>(*f, "mounts", parse_mount);
  if (const json* f = field(v, "hooks")) s.hooks = parse_hooks(*f, "hooks");
  READ(v, "annotations", s.annotations, as_string_map);
  if (const json* f = field(v, "linux")) s.linux_ = parse_linux(*f, "linux");
  s.raw = v;
  return s;
}

#undef READ

Result<json> parse_json_text(std::string_view text, std::string_view what) {
  if (text.empty()) return failf(Errc::parse, "{}: empty document", what);
  try {
    return json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    return failf(Errc::parse, "{}: invalid JSON at byte {}: {}", what, e.byte,
                 std::string_view(e.what()).substr(std::string_view(e.what()).find(':') + 2));
  } catch (const json::out_of_range& e) {  // a number beyond double's range (1e999)
    return failf(Errc::parse, "{}: invalid JSON: {}", what,
                 std::string_view(e.what()).substr(std::string_view(e.what()).find("] ") + 2));
  }
}

// ---- serialisation ----
void put_if(json& obj, const char* key, const std::string& value) {
  if (!value.empty()) obj[key] = value;
}
template <class T>
void put_opt(json& obj, const char* key, const std::optional<T>& value) {
  if (value) obj[key] = *value;
}

json hook_to_json(const Hook& h) {
  json j = {{"path", h.path}};
  if (!h.args.empty()) j["args"] = h.args;
  if (!h.env.empty()) j["env"] = h.env;
  put_opt(j, "timeout", h.timeout);
  return j;
}

}  // namespace

bool Spec::has_namespace(std::string_view type) const {
  return find_namespace(type) != nullptr;
}

const Namespace* Spec::find_namespace(std::string_view type) const {
  if (!linux_) return nullptr;
  for (const auto& ns : linux_->namespaces)
    if (ns.type == type) return &ns;
  return nullptr;
}

Result<Spec> spec_from_json(const nlohmann::json& document) {
  try {
    return parse_spec_object(document);
  } catch (const FieldError& e) {
    return fail(Errc::parse, e.what());
  } catch (const std::exception& e) {
    return fail(Errc::parse, e.what());
  }
}

Result<Spec> parse_spec(std::string_view text) {
  RAIND_TRY_ASSIGN(json document, parse_json_text(text, "config.json"));
  return spec_from_json(document);
}

Result<Process> process_from_json(const nlohmann::json& document) {
  try {
    return parse_process_object(document, "process");
  } catch (const std::exception& e) {
    return fail(Errc::parse, e.what());
  }
}

Result<Process> parse_process(std::string_view text) {
  RAIND_TRY_ASSIGN(json document, parse_json_text(text, "process.json"));
  return process_from_json(document);
}

Result<Resources> resources_from_json(const nlohmann::json& document) {
  try {
    return parse_resources(document, "resources");
  } catch (const std::exception& e) {
    return fail(Errc::parse, e.what());
  }
}

Status validate_spec(const Spec& spec, bool require_process) {
  if (spec.oci_version.empty()) return fail(Errc::invalid_argument, "ociVersion: required");
  if (!spec.root || spec.root->path.empty())
    return fail(Errc::invalid_argument, "root.path: required");
  if (require_process) {
    if (!spec.process) return fail(Errc::invalid_argument, "process: required");
    if (spec.process->args.empty())
      return fail(Errc::invalid_argument, "process.args: must not be empty");
    if (spec.process->cwd.empty() || spec.process->cwd.front() != '/')
      return failf(Errc::invalid_argument, "process.cwd: {:?} is not an absolute path",
                   spec.process->cwd);
  }
  for (std::size_t i = 0; i < spec.mounts.size(); ++i) {
    if (spec.mounts[i].destination.front() != '/')
      return failf(Errc::invalid_argument, "mounts[{}].destination: {:?} is not an absolute path",
                   i, spec.mounts[i].destination);
  }
  if (spec.linux_) {
    std::set<std::string> seen;
    for (const auto& ns : spec.linux_->namespaces) {
      if (std::find(std::begin(kNamespaceTypes), std::end(kNamespaceTypes), ns.type) ==
          std::end(kNamespaceTypes))
        return failf(Errc::invalid_argument, "linux.namespaces: unknown namespace type {:?}",
                     ns.type);
      if (!seen.insert(ns.type).second)
        return failf(Errc::invalid_argument, "linux.namespaces: duplicate namespace {:?}", ns.type);
      if (!ns.path.empty() && ns.path.front() != '/')
        return failf(Errc::invalid_argument, "linux.namespaces: path {:?} of {} is not absolute",
                     ns.path, ns.type);
    }
    const Namespace* user = spec.find_namespace("user");
    bool new_user_ns = user && user->path.empty();
    if (!new_user_ns && (!spec.linux_->uid_mappings.empty() || !spec.linux_->gid_mappings.empty()))
      return fail(Errc::invalid_argument,
                  "linux.uidMappings/gidMappings: given without a new user namespace");
    if (!spec.linux_->time_offsets.empty()) {
      const Namespace* time = spec.find_namespace("time");
      if (!time || !time->path.empty())
        return fail(Errc::invalid_argument, "linux.timeOffsets: requires a new time namespace");
    }
    for (const auto& d : spec.linux_->devices) {
      if (d.path.empty() || d.path.front() != '/')
        return failf(Errc::invalid_argument, "linux.devices: path {:?} is not absolute", d.path);
      if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
        return failf(Errc::invalid_argument, "linux.devices: {}: unknown type {:?}", d.path,
                     d.type);
    }
  }
  if (!spec.hostname.empty() && !spec.has_namespace("uts"))
    return fail(Errc::invalid_argument, "hostname: requires a new uts namespace");
  return ok();
}

nlohmann::json process_to_json(const Process& p) {
  json j;
  j["terminal"] = p.terminal;
  if (p.console_size)
    j["consoleSize"] = {{"height", p.console_size->height}, {"width", p.console_size->width}};
  json user = {{"uid", p.user.uid}, {"gid", p.user.gid}};
  put_opt(user, "umask", p.user.umask);
  if (!p.user.additional_gids.empty()) user["additionalGids"] = p.user.additional_gids;
  j["user"] = user;
  j["args"] = p.args;
  if (!p.env.empty()) j["env"] = p.env;
  j["cwd"] = p.cwd;
  if (p.capabilities) {
    j["capabilities"] = {{"bounding", p.capabilities->bounding},
                         {"effective", p.capabilities->effective},
                         {"inheritable", p.capabilities->inheritable},
                         {"permitted", p.capabilities->permitted},
                         {"ambient", p.capabilities->ambient}};
  }
  if (!p.rlimits.empty()) {
    json list = json::array();
    for (const auto& r : p.rlimits)
      list.push_back({{"type", r.type}, {"hard", r.hard}, {"soft", r.soft}});
    j["rlimits"] = list;
  }
  if (p.no_new_privileges) j["noNewPrivileges"] = true;
  put_if(j, "apparmorProfile", p.apparmor_profile);
  put_opt(j, "oomScoreAdj", p.oom_score_adj);
  put_if(j, "selinuxLabel", p.selinux_label);
  return j;
}

nlohmann::json spec_to_json(const Spec& spec) {
  // Start from the raw document so unknown extensions survive a round-trip.
  json j = spec.raw.is_object() ? spec.raw : json::object();
  j["ociVersion"] = spec.oci_version;
  if (spec.process) j["process"] = process_to_json(*spec.process);
  if (spec.root) j["root"] = {{"path", spec.root->path}, {"readonly", spec.root->readonly}};
  if (!spec.hostname.empty()) j["hostname"] = spec.hostname;
  if (!spec.domainname.empty()) j["domainname"] = spec.domainname;
  json mounts = json::array();
  for (const auto& m : spec.mounts) {
    json mj = {{"destination", m.destination}};
    put_if(mj, "type", m.type);
    put_if(mj, "source", m.source);
    if (!m.options.empty()) mj["options"] = m.options;
    mounts.push_back(mj);
  }
  j["mounts"] = mounts;
  if (spec.hooks) {
    json hooks = json::object();
    auto put = [&](const char* key, const std::vector<Hook>& list) {
      if (list.empty()) return;
      json arr = json::array();
      for (const auto& h : list) arr.push_back(hook_to_json(h));
      hooks[key] = arr;
    };
    put("prestart", spec.hooks->prestart);
    put("createRuntime", spec.hooks->create_runtime);
    put("createContainer", spec.hooks->create_container);
    put("startContainer", spec.hooks->start_container);
    put("poststart", spec.hooks->poststart);
    put("poststop", spec.hooks->poststop);
    put("stopContainer", spec.hooks->stop_container);
    j["hooks"] = hooks;
  }
  if (!spec.annotations.empty()) j["annotations"] = spec.annotations;
  if (spec.linux_ && !j.contains("linux")) {
    // Only the fields default_spec() produces need serialising; raw covers parsed documents.
    const Linux& l = *spec.linux_;
    json lj;
    json ns = json::array();
    for (const auto& n : l.namespaces) {
      json nj = {{"type", n.type}};
      put_if(nj, "path", n.path);
      ns.push_back(nj);
    }
    lj["namespaces"] = ns;
    auto maps = [](const std::vector<IdMapping>& list) {
      json arr = json::array();
      for (const auto& m : list)
        arr.push_back({{"containerID", m.container_id}, {"hostID", m.host_id}, {"size", m.size}});
      return arr;
    };
    if (!l.uid_mappings.empty()) lj["uidMappings"] = maps(l.uid_mappings);
    if (!l.gid_mappings.empty()) lj["gidMappings"] = maps(l.gid_mappings);
    if (!l.masked_paths.empty()) lj["maskedPaths"] = l.masked_paths;
    if (!l.readonly_paths.empty()) lj["readonlyPaths"] = l.readonly_paths;
    if (!l.cgroups_path.empty()) lj["cgroupsPath"] = l.cgroups_path;
    if (l.resources && !l.resources->devices.empty()) {
      json devs = json::array();
      for (const auto& d : l.resources->devices) {
        json dj = {{"allow", d.allow}, {"access", d.access}};
        put_if(dj, "type", d.type);
        put_opt(dj, "major", d.major);
        put_opt(dj, "minor", d.minor);
        devs.push_back(dj);
      }
      lj["resources"] = {{"devices", devs}};
    }
    j["linux"] = lj;
  }
  return j;
}

nlohmann::json state_to_json(const State& state) {
  json j = {{"ociVersion", state.oci_version},
            {"id", state.id},
            {"status", state.status},
            {"bundle", state.bundle}};
  if (state.pid > 0) j["pid"] = state.pid;
  j["annotations"] = state.annotations;
  return j;
}

Result<State> parse_state(std::string_view text) {
  RAIND_TRY_ASSIGN(json v, parse_json_text(text, "state"));
  try {
    const std::string path;
    if (!v.is_object()) type_error("state", "object", v);
    State s;
#define READ(obj, key, out, conv)                                                \
  do {                                                                           \
    if (const json* f_ = field(obj, key)) out = conv(*f_, join_path(path, key)); \
  } while (0)
    READ(v, "ociVersion", s.oci_version, as_string);
    READ(v, "id", s.id, as_string);
    READ(v, "status", s.status, as_string);
    if (const json* f = field(v, "pid")) s.pid = static_cast<int>(as_int(*f, "pid"));
    READ(v, "bundle", s.bundle, as_string);
    READ(v, "annotations", s.annotations, as_string_map);
#undef READ
    return s;
  } catch (const std::exception& e) {
    return fail(Errc::parse, e.what());
  }
}

Spec default_spec(bool rootless) {
  Spec s;
  s.oci_version = std::string(kOciVersion);
  Process p;
  p.terminal = true;
  p.args = {"sh"};
  p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  p.cwd = "/";
  std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  p.capabilities = Capabilities{caps, caps, {}, caps, {}};
  p.rlimits = {{"RLIMIT_NOFILE", 1024, 1024}};
  p.no_new_privileges = true;
  s.process = p;
  s.root = Root{"rootfs", true};
  s.hostname = "droplet";
  s.mounts = {
      {"/proc", "proc", "proc", {}, {}},
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
  Linux l;
  l.namespaces = {{"pid", ""}, {"network", ""}, {"ipc", ""},
                  {"uts", ""}, {"mount", ""},   {"cgroup", ""}};
  l.masked_paths = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                    "/proc/scsi"};
  l.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  if (rootless) {
    l.namespaces.push_back({"user", ""});
    l.uid_mappings = {{0, 1000, 1}};
    l.gid_mappings = {{0, 1000, 1}};
    // Rootless containers cannot mount sysfs or cgroupfs without the host's help.
    std::erase_if(s.mounts, [](const Mount& m) { return m.destination == "/sys/fs/cgroup"; });
    for (auto& m : s.mounts) {
      if (m.destination == "/sys")
        m = {"/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"}, {}};
      if (m.destination == "/dev/pts") std::erase(m.options, std::string("gid=5"));
    }
  } else {
    Resources r;
    r.devices = {DeviceCgroup{false, "", std::nullopt, std::nullopt, "rwm"}};
    l.resources = r;
  }
  s.linux_ = l;
  return s;
}

}  // namespace raind::oci

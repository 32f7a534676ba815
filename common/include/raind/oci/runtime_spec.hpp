#pragma once
// OCI runtime-spec 1.x configuration (config.json) and state types.
// Parsing is tolerant of unknown fields (the spec requires it) but strict about types: a field of
// the wrong type is an error naming its JSON path, e.g. "process.user.uid: expected unsigned
// integer".
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "raind/error.hpp"

namespace raind::oci {

inline constexpr std::string_view kOciVersion = "1.2.0";

struct User {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  std::optional<std::uint32_t> umask;
  std::vector<std::uint32_t> additional_gids;
  std::string username;  // windows only; kept for round-trip
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  std::uint64_t hard = 0;
  std::uint64_t soft = 0;
};

struct ConsoleSize {
  unsigned height = 0;
  unsigned width = 0;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::string apparmor_profile;
  std::optional<int> oom_score_adj;
  std::string selinux_label;
};

struct Root {
  std::string path;
  bool readonly = false;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  std::vector<std::string> uid_mappings_raw;  // unused; idmapped mounts not supported
};

struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds, > 0
};

struct Hooks {
  std::vector<Hook> prestart;  // deprecated but still honoured
  std::vector<Hook> create_runtime;
  std::vector<Hook> create_container;
  std::vector<Hook> start_container;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
  // Raind extension (not OCI): run by `kill` once the container process is gone.
  std::vector<Hook> stop_container;
  bool empty() const {
    return prestart.empty() && create_runtime.empty() && create_container.empty() &&
           start_container.empty() && poststart.empty() && poststop.empty() &&
           stop_container.empty();
  }
};

struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // join this namespace instead of creating one
};

struct IdMapping {
  std::uint32_t container_id = 0;
  std::uint32_t host_id = 0;
  std::uint32_t size = 0;
};

struct Device {
  std::string type;  // c, b, u, p
  std::string path;
  std::int64_t major = 0;
  std::int64_t minor = 0;
  std::optional<std::uint32_t> file_mode;
  std::optional<std::uint32_t> uid;
  std::optional<std::uint32_t> gid;
};

struct DeviceCgroup {
  bool allow = false;
  std::string type;  // a, c, b (empty = a)
  std::optional<std::int64_t> major, minor;
  std::string access;
};

struct MemoryResources {
  std::optional<std::int64_t> limit, reservation, swap, kernel, kernel_tcp;
  std::optional<std::uint64_t> swappiness;
  std::optional<bool> disable_oom_killer, use_hierarchy, check_before_update;
};
struct CpuResources {
  std::optional<std::uint64_t> shares;
  std::optional<std::int64_t> quota;
  std::optional<std::uint64_t> burst;
  std::optional<std::uint64_t> period;
  std::optional<std::int64_t> realtime_runtime;
  std::optional<std::uint64_t> realtime_period;
  std::string cpus, mems;
  std::optional<std::int64_t> idle;
};
struct PidsResources {
  std::int64_t limit = 0;
};
struct BlockIoDevice {
  std::int64_t major = 0, minor = 0;
  std::optional<std::uint16_t> weight, leaf_weight;
  std::uint64_t rate = 0;  // for throttle entries
};
struct BlockIoResources {
  std::optional<std::uint16_t> weight, leaf_weight;
  std::vector<BlockIoDevice> weight_device, throttle_read_bps_device, throttle_write_bps_device,
      throttle_read_iops_device, throttle_write_iops_device;
};
struct HugepageLimit {
  std::string page_size;
  std::uint64_t limit = 0;
};
struct Resources {
  std::vector<DeviceCgroup> devices;
  std::optional<MemoryResources> memory;
  std::optional<CpuResources> cpu;
  std::optional<PidsResources> pids;
  std::optional<BlockIoResources> block_io;
  std::vector<HugepageLimit> hugepage_limits;
  std::map<std::string, std::string> unified;
};

struct SeccompArg {
  unsigned index = 0;
  std::uint64_t value = 0;
  std::uint64_t value_two = 0;
  std::string op;  // SCMP_CMP_EQ …
};
struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;  // SCMP_ACT_…
  std::optional<unsigned> errno_ret;
  std::vector<SeccompArg> args;
};
struct Seccomp {
  std::string default_action;
  std::optional<unsigned> default_errno_ret;
  std::vector<std::string> architectures;
  std::vector<std::string> flags;
  std::string listener_path;
  std::string listener_metadata;
  std::vector<SeccompSyscall> syscalls;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings, gid_mappings;
  std::map<std::string, std::pair<std::int64_t, std::uint32_t>>
      time_offsets;  // clock -> secs,nsecs
  std::vector<Device> devices;
  std::string cgroups_path;
  std::optional<Resources> resources;
  std::string rootfs_propagation;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::string mount_label;
  std::map<std::string, std::string> sysctl;
  std::optional<Seccomp> seccomp;
  nlohmann::json personality;  // kept raw
};

struct Spec {
  std::string oci_version;
  std::optional<Process> process;
  std::optional<Root> root;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::optional<Hooks> hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux_;
  nlohmann::json raw;  // the document as read, for round-trips and unknown extensions

  bool has_namespace(std::string_view type) const;
  const Namespace* find_namespace(std::string_view type) const;
};

// Parses config.json text. Syntax errors carry the byte offset; type errors the JSON path.
Result<Spec> parse_spec(std::string_view text);
Result<Spec> spec_from_json(const nlohmann::json& document);
Result<Process> parse_process(std::string_view text);
Result<Process> process_from_json(const nlohmann::json& document);
Result<Resources> resources_from_json(const nlohmann::json& document);
nlohmann::json spec_to_json(const Spec& spec);
nlohmann::json process_to_json(const Process& process);

// Validation beyond types: known namespace types, no duplicates, absolute mount destinations,
// id mappings present with a user namespace, etc. Returns the first problem found.
Status validate_spec(const Spec& spec, bool require_process = true);

inline constexpr std::string_view kNamespaceTypes[] = {"pid", "network", "mount",  "ipc",
                                                       "uts", "user",    "cgroup", "time"};

// OCI state (`runtime state` output and hook stdin).
struct State {
  std::string oci_version = std::string(kOciVersion);
  std::string id;
  std::string status;  // creating | created | running | stopped (+ paused as runc)
  int pid = 0;
  std::string bundle;
  std::map<std::string, std::string> annotations;
};
nlohmann::json state_to_json(const State& state);
Result<State> parse_state(std::string_view text);

// Default configuration as `droplet spec` writes it (runc-compatible defaults).
Spec default_spec(bool rootless);

}  // namespace raind::oci

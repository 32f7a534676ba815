#pragma once
// Cgroup manager interface with two backends (v2 unified, v1 per-controller hierarchies),
// chosen by probing the host. Everything is rooted at injectable paths so unit tests run against
// fixture directories.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "raind/error.hpp"

namespace raind::cgroups {

// Resource limits in OCI runtime-spec terms (linux.resources), decoupled from JSON parsing.
struct MemoryLimits {
  std::optional<std::int64_t> limit;        // bytes; -1 = unlimited
  std::optional<std::int64_t> reservation;  // soft limit (v1) / memory.low (v2)
  std::optional<std::int64_t> swap;         // memory+swap (OCI semantics), -1 = unlimited
  std::optional<std::uint64_t> swappiness;
  std::optional<std::int64_t> kernel_tcp;  // v1 only: TCP buffer memory; -1 = unlimited
  std::optional<bool> disable_oom_killer;
  std::optional<bool> use_hierarchy;
  std::optional<bool> check_before_update;
};
struct CpuLimits {
  std::optional<std::uint64_t> shares;  // v1 cpu.shares; converted to cpu.weight on v2
  std::optional<std::int64_t> quota;    // µs; -1 = unlimited
  std::optional<std::uint64_t> burst;
  std::optional<std::uint64_t> period;  // µs
  std::optional<std::int64_t> realtime_runtime;
  std::optional<std::uint64_t> realtime_period;
  std::optional<std::string> cpus;
  std::optional<std::string> mems;
  std::optional<std::int64_t> idle;
};
struct PidsLimits {
  std::optional<std::int64_t> limit;  // 0 or -1 = unlimited
};
struct ThrottleDevice {
  std::int64_t major = 0, minor = 0;
  std::uint64_t rate = 0;
};
struct WeightDevice {
  std::int64_t major = 0, minor = 0;
  std::optional<std::uint16_t> weight, leaf_weight;
};
struct BlockIoLimits {
  std::optional<std::uint16_t> weight, leaf_weight;
  std::vector<WeightDevice> weight_devices;
  std::vector<ThrottleDevice> throttle_read_bps, throttle_write_bps, throttle_read_iops,
      throttle_write_iops;
};
struct HugepageLimit {
  std::string page_size;  // "2MB", "1GB"
  std::uint64_t limit = 0;
};
struct DeviceRule {
  bool allow = false;
  char type = 'a';                           // 'a', 'c', 'b'
  std::optional<std::int64_t> major, minor;  // nullopt = wildcard
  std::string access = "rwm";
};
struct Resources {
  std::optional<MemoryLimits> memory;
  std::optional<CpuLimits> cpu;
  std::optional<PidsLimits> pids;
  std::optional<BlockIoLimits> block_io;
  std::vector<HugepageLimit> hugepages;
  std::vector<DeviceRule> devices;
  std::map<std::string, std::string> unified;  // v2 only: raw file -> value
};

// Statistics in the shape runc's `events --stats` reports (see runc types.Stats).
struct Stats {
  struct Cpu {
    std::uint64_t usage_total_ns = 0, usage_user_ns = 0, usage_kernel_ns = 0;
    std::vector<std::uint64_t> percpu_ns;
    std::uint64_t periods = 0, throttled_periods = 0, throttled_time_ns = 0;
  } cpu;
  struct Memory {
    std::uint64_t usage = 0, max_usage = 0, limit = 0, failcnt = 0;
    std::uint64_t swap_usage = 0, swap_limit = 0;
    std::uint64_t cache = 0;
    std::uint64_t oom_kill = 0;                // number of OOM kills in this cgroup
    std::map<std::string, std::uint64_t> raw;  // memory.stat
  } memory;
  struct Pids {
    std::uint64_t current = 0, limit = 0;  // limit 0 = unlimited
  } pids;
  struct BlkioEntry {
    std::uint64_t major = 0, minor = 0;
    std::string op;
    std::uint64_t value = 0;
  };
  struct Blkio {
    std::vector<BlkioEntry> io_service_bytes, io_serviced;
  } blkio;
};

nlohmann::json stats_to_runc_json(const Stats& stats);

enum class Version { v1, v2 };

// Where cgroup filesystems are mounted and which controllers each hierarchy carries.
struct HostLayout {
  Version version = Version::v2;        // the backend that enforces limits on this host
  std::filesystem::path unified_mount;  // v2 mount (may exist on hybrid hosts)
  std::map<std::string, std::filesystem::path> v1_mounts;  // controller -> hierarchy mount
  // The calling process's own cgroup path per controller ("" key for v2), from /proc/self/cgroup.
  std::map<std::string, std::string> self_paths;
};

// Probes /proc/self/mountinfo and /proc/self/cgroup (roots injectable for tests). A host whose
// resource controllers (memory, pids, cpu) sit on v1 hierarchies gets the v1 backend, even if a
// unified hierarchy is also mounted (hybrid).
Result<HostLayout> detect_host_layout(const std::filesystem::path& proc_self = "/proc/self");

class Manager {
 public:
  virtual ~Manager() = default;
  virtual Version version() const = 0;
  // Creates the cgroup directories (idempotent).
  virtual Status create() = 0;
  // Writes the limits. Errors name the file and value.
  virtual Status apply(const Resources& resources) = 0;
  // Moves pid into the cgroup (every hierarchy on v1).
  virtual Status add_process(pid_t pid) = 0;
  // Files a single-threaded process writes "0" to in order to move itself (v1 `tasks`). Moving
  // oneself skips the kernel's global threadgroup lock, whose first writer waits for an RCU
  // grace period (~10 ms): the largest single cost of starting a container. Empty: use
  // add_process.
  virtual std::vector<std::filesystem::path> self_join_files() const { return {}; }
  virtual Status freeze() = 0;
  virtual Status thaw() = 0;
  virtual Result<bool> frozen() const = 0;
  virtual Result<std::vector<pid_t>> pids() const = 0;
  virtual Result<Stats> stats() const = 0;
  // Removes the directories (after the processes are gone). Missing dirs are not an error.
  virtual Status destroy() = 0;
  // Serialisable description so kill/delete/pause from another droplet process can reattach.
  virtual nlohmann::json to_json() const = 0;
  // Human-readable primary path (v2 dir, or the memory/pids dir on v1).
  virtual std::filesystem::path primary_path() const = 0;
};

// cgroups_path: OCI linux.cgroupsPath. Absolute → relative to each hierarchy root; relative →
// nested under the caller's own cgroup; empty → "<caller's cgroup>/droplet/<container_id>".
// A "slice:prefix:name" systemd-style path is accepted and mapped to a plain path.
Result<std::unique_ptr<Manager>> make_manager(const HostLayout& layout,
                                              const std::string& cgroups_path,
                                              const std::string& container_id);
// Rebuilds a manager from to_json() output.
Result<std::unique_ptr<Manager>> load_manager(const nlohmann::json& saved);

}  // namespace raind::cgroups

#pragma once
// Container resource metrics from cgroup files, v2 or v1 (whichever the host enforces limits
// with), in the seed schema of raind_metrics.jsonl. Reading is effectful (CgroupReader); turning
// two samples into a record is a pure function, so the arithmetic is unit-tested.
//
//   cpu_percent    = Δusage_usec / Δwall_usec / max_cores × 100, where max_cores is quota/period
//                    when the container has a CPU quota, else the host's CPU count: a container
//                    using all of its quota shows ~100.
//   memory_percent = current / limit × 100 (0 and memory_limited=false without a limit).
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "raind/cgroups/manager.hpp"
#include "raind/error.hpp"

namespace raind::condenser::metrics {

struct CpuLimit {
  bool limited = false;
  std::uint64_t quota_usec = 0;
  std::uint64_t period_usec = 100000;
};

// cgroup v2 cpu.max ("max 100000" or "50000 100000").
CpuLimit parse_cpu_max(std::string_view text);
// cgroup v1 cpu.cfs_quota_us (-1: unlimited) and cpu.cfs_period_us.
CpuLimit parse_cfs(std::string_view quota_text, std::string_view period_text);

struct Sample {
  std::chrono::steady_clock::time_point taken;
  std::string cgroup_path;  // the memory (v1) or unified (v2) directory
  cgroups::Stats stats;
  CpuLimit cpu;
  std::optional<std::uint64_t> memory_limit;  // none: unlimited
  std::uint64_t memory_oom = 0;  // v2 memory.events "oom"; v1 memory.failcnt (limit hits)
};

struct ContainerInfo {
  std::string id;
  std::string name;
  std::string spiffe_id;
  std::int64_t pid = 0;
  std::string status;
};

// Percent of the container's CPU allowance used between two samples; 0 without a previous
// sample or when a counter went backwards (the cgroup was recreated).
double cpu_percent(const Sample& now, const Sample* previous, unsigned host_cpus);

// One raind_metrics.jsonl record (seed field names).
nlohmann::json render_record(const ContainerInfo& container, const Sample& now,
                             const Sample* previous, unsigned host_cpus,
                             const std::string& generated_ts);

// Reads a container's cgroup, found as <condenserd's own cgroup>/<parent>/<id> in each
// hierarchy (where droplet puts it for a relative cgroupsPath).
class CgroupReader {
 public:
  static Result<CgroupReader> open();
  explicit CgroupReader(cgroups::HostLayout layout) : layout_(std::move(layout)) {}
  Result<Sample> read(const std::string& cgroup_parent, const std::string& id) const;
  cgroups::Version version() const { return layout_.version; }

 private:
  std::optional<std::filesystem::path> v1_dir(const std::string& controller,
                                              const std::string& relative) const;
  cgroups::HostLayout layout_;
};

}  // namespace raind::condenser::metrics

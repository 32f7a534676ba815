#include "condenser/metrics/metrics.hpp"

#include <unistd.h>

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace raind::condenser::metrics {
namespace {

std::optional<std::int64_t> to_int(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<std::string> read_small(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) return std::nullopt;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::uint64_t keyed_value(std::string_view text, std::string_view key) {
  std::istringstream in{std::string(text)};
  std::string k;
  std::uint64_t v = 0;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

double round2(double v) {
  return std::round(v * 100.0) / 100.0;
}

}  // namespace

CpuLimit parse_cpu_max(std::string_view text) {
  std::istringstream in{std::string(text)};
  std::string quota, period;
  in >> quota >> period;
  CpuLimit out;
  if (auto p = to_int(period); p && *p > 0) out.period_usec = static_cast<std::uint64_t>(*p);
  if (auto q = to_int(quota); q && *q > 0) {
    out.limited = true;
    out.quota_usec = static_cast<std::uint64_t>(*q);
  }
  return out;
}

CpuLimit parse_cfs(std::string_view quota_text, std::string_view period_text) {
  CpuLimit out;
  if (auto p = to_int(period_text); p && *p > 0) out.period_usec = static_cast<std::uint64_t>(*p);
  if (auto q = to_int(quota_text); q && *q > 0) {
    out.limited = true;
    out.quota_usec = static_cast<std::uint64_t>(*q);
  }
  return out;
}

double cpu_percent(const Sample& now, const Sample* previous, unsigned host_cpus) {
  if (!previous) return 0.0;
  if (now.stats.cpu.usage_total_ns < previous->stats.cpu.usage_total_ns) return 0.0;
  auto wall_usec =
      std::chrono::duration_cast<std::chrono::microseconds>(now.taken - previous->taken).count();
  if (wall_usec <= 0) return 0.0;
  double used_usec =
      static_cast<double>(now.stats.cpu.usage_total_ns - previous->stats.cpu.usage_total_ns) /
      1000.0;
  double cores = now.cpu.limited && now.cpu.period_usec > 0
                     ? static_cast<double>(now.cpu.quota_usec) / now.cpu.period_usec
                     : static_cast<double>(host_cpus ? host_cpus : 1);
  if (cores <= 0) return 0.0;
  return round2(used_usec / static_cast<double>(wall_usec) / cores * 100.0);
}

nlohmann::json render_record(const ContainerInfo& container, const Sample& now,
                             const Sample* previous, unsigned host_cpus,
                             const std::string& generated_ts) {
  const auto& s = now.stats;
  std::uint64_t read_bytes = 0, write_bytes = 0, read_ops = 0, write_ops = 0;
  for (const auto& e : s.blkio.io_service_bytes) {
    if (e.op == "Read") read_bytes += e.value;
    if (e.op == "Write") write_bytes += e.value;
  }
  for (const auto& e : s.blkio.io_serviced) {
    if (e.op == "Read") read_ops += e.value;
    if (e.op == "Write") write_ops += e.value;
  }
  nlohmann::json r;
  r["generated_ts"] = generated_ts;
  r["event_type"] = "log.metrics";
  r["container_id"] = container.id;
  r["container_name"] = container.name;
  r["spiffe_id"] = container.spiffe_id;
  r["pid"] = container.pid;
  r["status"] = container.status;
  r["cgroup_path"] = now.cgroup_path;
  r["cpu_usage_usec"] = s.cpu.usage_total_ns / 1000;
  r["cpu_user_usec"] = s.cpu.usage_user_ns / 1000;
  r["cpu_system_usec"] = s.cpu.usage_kernel_ns / 1000;
  r["cpu_nr_periods"] = s.cpu.periods;
  r["cpu_nr_throttled"] = s.cpu.throttled_periods;
  r["cpu_throttled_usec"] = s.cpu.throttled_time_ns / 1000;
  r["cpu_quota_usec"] = now.cpu.limited ? nlohmann::json(now.cpu.quota_usec) : nlohmann::json();
  r["cpu_period_usec"] = now.cpu.period_usec;
  r["cpu_unlimited"] = !now.cpu.limited;
  r["cpu_percent"] = cpu_percent(now, previous, host_cpus);
  r["memory_current_bytes"] = s.memory.usage;
  r["memory_max_bytes"] = now.memory_limit ? nlohmann::json(*now.memory_limit) : nlohmann::json();
  r["memory_limited"] = now.memory_limit.has_value();
  r["memory_percent"] = now.memory_limit && *now.memory_limit > 0
                            ? round2(static_cast<double>(s.memory.usage) /
                                     static_cast<double>(*now.memory_limit) * 100.0)
                            : 0.0;
  r["io_read_bytes"] = read_bytes;
  r["io_write_bytes"] = write_bytes;
  r["io_read_ops"] = read_ops;
  r["io_write_ops"] = write_ops;
  r["memory_oom"] = now.memory_oom;
  r["memory_oom_kill"] = s.memory.oom_kill;
  return r;
}

Result<CgroupReader> CgroupReader::open() {
  RAIND_TRY_ASSIGN(auto layout, cgroups::detect_host_layout());
  return CgroupReader(std::move(layout));
}

std::optional<std::filesystem::path> CgroupReader::v1_dir(const std::string& controller,
                                                          const std::string& relative) const {
  auto mount = layout_.v1_mounts.find(controller);
  if (mount == layout_.v1_mounts.end()) return std::nullopt;
  auto own = layout_.self_paths.find(controller);
  std::filesystem::path base = mount->second;
  if (own != layout_.self_paths.end()) base /= std::filesystem::path(own->second).relative_path();
  return base / relative;
}

Result<Sample> CgroupReader::read(const std::string& cgroup_parent, const std::string& id) const {
  const std::string relative = cgroup_parent + "/" + id;
  RAIND_TRY_ASSIGN(auto manager, cgroups::make_manager(layout_, relative, id));
  Sample sample;
  sample.taken = std::chrono::steady_clock::now();
  sample.cgroup_path = manager->primary_path().string();
  if (!std::filesystem::exists(manager->primary_path()))
    return failf(Errc::not_found, "cgroup {} does not exist", sample.cgroup_path);
  RAIND_TRY_ASSIGN(sample.stats, manager->stats());
  if (layout_.version == cgroups::Version::v2) {
    const auto dir = manager->primary_path();
    if (auto text = read_small(dir / "cpu.max")) sample.cpu = parse_cpu_max(*text);
    if (sample.stats.memory.limit > 0 && sample.stats.memory.limit < (1ull << 62))
      sample.memory_limit = sample.stats.memory.limit;
    if (auto events = read_small(dir / "memory.events"))
      sample.memory_oom = keyed_value(*events, "oom");
  } else {
    if (auto dir = v1_dir("cpu", relative)) {
      auto quota = read_small(*dir / "cpu.cfs_quota_us");
      auto period = read_small(*dir / "cpu.cfs_period_us");
      if (quota && period) sample.cpu = parse_cfs(*quota, *period);
    }
    // v1 reports "no limit" as the largest page-aligned counter value.
    if (sample.stats.memory.limit > 0 && sample.stats.memory.limit < (1ull << 62))
      sample.memory_limit = sample.stats.memory.limit;
    sample.memory_oom = sample.stats.memory.failcnt;
  }
  return sample;
}

}  // namespace raind::condenser::metrics

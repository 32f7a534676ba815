// cgroup v1 backend: one directory per controller hierarchy (cpu and cpuacct may share one).
#include <signal.h>

#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "cgroups_internal.hpp"
#include "fs_util.hpp"

namespace raind::cgroups {
namespace {

std::string limit_value(std::int64_t v) {
  return v < 0 ? "-1" : std::to_string(v);
}

std::string device_rule_text(const DeviceRule& r) {
  if (r.type == 'a' && !r.major && !r.minor) return fmt::format("a *:* {}", r.access);
  auto num = [](const std::optional<std::int64_t>& n) {
    return n && *n >= 0 ? std::to_string(*n) : std::string("*");
  };
  return fmt::format("{} {}:{} {}", r.type, num(r.major), num(r.minor),
                     r.access.empty() ? "rwm" : r.access);
}

class V1Manager final : public Manager {
 public:
  explicit V1Manager(std::map<std::string, std::filesystem::path> dirs) : dirs_(std::move(dirs)) {}

  Version version() const override { return Version::v1; }

  Status create() override {
    for (const auto& dir : unique_dirs()) {
      if (is_cpuset(dir)) {
        RAIND_TRY(create_cpuset(dir));
      } else {
        RAIND_TRY(make_dirs(dir));
      }
    }
    return ok();
  }

  Status apply(const Resources& r) override {
    if (r.memory) RAIND_TRY(apply_memory(*r.memory));
    if (r.cpu) RAIND_TRY(apply_cpu(*r.cpu));
    if (r.pids && r.pids->limit) {
      if (auto dir = find("pids")) {
        std::string v = *r.pids->limit > 0 ? std::to_string(*r.pids->limit) : "max";
        RAIND_TRY(write_control(*dir, "pids.max", v));
      }
    }
    if (r.block_io) RAIND_TRY(apply_blkio(*r.block_io));
    for (const auto& h : r.hugepages) {
      auto dir = find("hugetlb");
      if (!dir)
        return fail(Errc::unsupported, "hugepage limits: the hugetlb controller is not mounted");
      RAIND_TRY(write_control(*dir, fmt::format("hugetlb.{}.limit_in_bytes", h.page_size),
                              std::to_string(h.limit)));
    }
    if (!r.devices.empty()) {
      if (auto dir = find("devices")) {
        for (const auto& rule : r.devices) {
          RAIND_TRY(write_control(*dir, rule.allow ? "devices.allow" : "devices.deny",
                                  device_rule_text(rule)));
        }
      }
    }
    if (!r.unified.empty())
      return fail(Errc::unsupported, "linux.resources.unified needs cgroup v2; this host uses v1");
    return ok();
  }

  Status add_process(pid_t pid) override {
    std::string text = std::to_string(pid);
    for (const auto& dir : unique_dirs()) RAIND_TRY(write_control(dir, "cgroup.procs", text));
    return ok();
  }

  std::vector<std::filesystem::path> self_join_files() const override {
    std::vector<std::filesystem::path> out;
    for (const auto& dir : unique_dirs()) out.push_back(dir / "tasks");
    return out;
  }

  Status freeze() override { return set_freezer("FROZEN"); }
  Status thaw() override { return set_freezer("THAWED"); }

  Result<bool> frozen() const override {
    auto dir = find("freezer");
    if (!dir) return false;
    RAIND_TRY_ASSIGN(std::string state, read_control(*dir, "freezer.state"));
    return trim(state) == "FROZEN";
  }

  Result<std::vector<pid_t>> pids() const override {
    std::optional<std::filesystem::path> dir = find("pids");
    if (!dir) dir = find("memory");
    if (!dir && !dirs_.empty()) dir = dirs_.begin()->second;
    if (!dir) return std::vector<pid_t>{};
    std::vector<pid_t> out;
    // Every pid of the subtree: the container may have made child cgroups.
    std::error_code ec;
    std::vector<std::filesystem::path> all = {*dir};
    for (auto it = std::filesystem::recursive_directory_iterator(*dir, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
      if (it->is_directory(ec)) all.push_back(it->path());
    for (const auto& d : all) {
      auto text = read_control(d, "cgroup.procs");
      if (!text) {
        if (d == *dir) return std::unexpected(std::move(text.error()));
        continue;
      }
      std::istringstream in(*text);
      for (pid_t p; in >> p;) out.push_back(p);
    }
    return out;
  }

  Result<Stats> stats() const override {
    Stats s;
    if (auto dir = find("cpuacct")) {
      if (auto v = read_control(*dir, "cpuacct.usage")) s.cpu.usage_total_ns = parse_u64_or_max(*v);
      if (auto v = read_control(*dir, "cpuacct.usage_percpu")) {
        std::istringstream in(*v);
        for (std::uint64_t n; in >> n;) s.cpu.percpu_ns.push_back(n);
      }
      if (auto v = read_control(*dir, "cpuacct.stat")) {
        auto kv = parse_flat_keyed(*v);
        long hz = sysconf(_SC_CLK_TCK);
        std::uint64_t ns_per_tick = 1000000000ull / static_cast<std::uint64_t>(hz > 0 ? hz : 100);
        s.cpu.usage_user_ns = kv["user"] * ns_per_tick;
        s.cpu.usage_kernel_ns = kv["system"] * ns_per_tick;
      }
    }
    if (auto dir = find("cpu")) {
      if (auto v = read_control(*dir, "cpu.stat")) {
        auto kv = parse_flat_keyed(*v);
        s.cpu.periods = kv["nr_periods"];
        s.cpu.throttled_periods = kv["nr_throttled"];
        s.cpu.throttled_time_ns = kv["throttled_time"];
      }
    }
    if (auto dir = find("memory")) {
      auto num = [&](const char* file) -> std::uint64_t {
        auto v = read_control(*dir, file);
        return v ? parse_u64_or_max(*v) : 0;
      };
      s.memory.usage = num("memory.usage_in_bytes");
      s.memory.max_usage = num("memory.max_usage_in_bytes");
      s.memory.limit = num("memory.limit_in_bytes");
      s.memory.failcnt = num("memory.failcnt");
      s.memory.swap_usage = num("memory.memsw.usage_in_bytes");
      s.memory.swap_limit = num("memory.memsw.limit_in_bytes");
      if (auto v = read_control(*dir, "memory.stat")) {
        s.memory.raw = parse_flat_keyed(*v);
        s.memory.cache = s.memory.raw.contains("total_cache") ? s.memory.raw["total_cache"]
                                                              : s.memory.raw["cache"];
      }
      if (auto v = read_control(*dir, "memory.oom_control"))
        s.memory.oom_kill = parse_flat_keyed(*v)["oom_kill"];
    }
    if (auto dir = find("pids")) {
      if (auto v = read_control(*dir, "pids.current")) s.pids.current = parse_u64_or_max(*v);
      if (auto v = read_control(*dir, "pids.max")) s.pids.limit = parse_u64_or_max(*v, 0);
    }
    if (auto dir = find("blkio")) {
      auto entries = [&](const char* file, std::vector<Stats::BlkioEntry>& out) {
        auto v = read_control(*dir, file);
        if (!v) return;
        std::istringstream in(*v);
        std::string line;
        while (std::getline(in, line)) {
          std::istringstream fields(line);
          std::string dev, op;
          std::uint64_t value = 0;
          if (!(fields >> dev >> op >> value)) continue;
          auto colon = dev.find(':');
          if (colon == std::string::npos) continue;
          out.push_back(
              {std::stoull(dev.substr(0, colon)), std::stoull(dev.substr(colon + 1)), op, value});
        }
      };
      entries("blkio.throttle.io_service_bytes", s.blkio.io_service_bytes);
      entries("blkio.throttle.io_serviced", s.blkio.io_serviced);
    }
    return s;
  }

  Status destroy() override {
    Status first = ok();
    for (const auto& dir : unique_dirs()) {
      auto st = remove_cgroup_tree(dir);
      if (!st && first) first = std::move(st);
    }
    return first;
  }

  nlohmann::json to_json() const override {
    nlohmann::json dirs = nlohmann::json::object();
    for (const auto& [c, d] : dirs_) dirs[c] = d.string();
    return {{"version", "v1"}, {"dirs", dirs}};
  }

  std::filesystem::path primary_path() const override {
    if (auto d = find("memory")) return *d;
    if (auto d = find("pids")) return *d;
    return dirs_.empty() ? std::filesystem::path() : dirs_.begin()->second;
  }

 private:
  std::optional<std::filesystem::path> find(const std::string& controller) const {
    auto it = dirs_.find(controller);
    if (it == dirs_.end()) return std::nullopt;
    return it->second;
  }

  std::vector<std::filesystem::path> unique_dirs() const {
    std::vector<std::filesystem::path> out;
    std::set<std::string> seen;
    for (const auto& [c, d] : dirs_)
      if (seen.insert(d.string()).second) out.push_back(d);
    return out;
  }

  bool is_cpuset(const std::filesystem::path& dir) const {
    auto d = find("cpuset");
    return d && *d == dir;
  }

  // cpuset children start with empty cpus/mems and refuse tasks until both are set, so every
  // level created on the way down inherits its parent's values.
  Status create_cpuset(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> missing;
    for (auto p = dir; !std::filesystem::exists(p) && p.has_relative_path(); p = p.parent_path())
      missing.push_back(p);
    for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
      if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST)
        return fail_errno(fmt::format("create cgroup {}", it->string()));
      for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        auto current = read_control(*it, file);
        if (current && !trim(*current).empty()) continue;
        RAIND_TRY_ASSIGN(std::string parent, read_control(it->parent_path(), file));
        RAIND_TRY(write_control(*it, file, trim(parent)));
      }
    }
    return ok();
  }

  Status apply_memory(const MemoryLimits& m) {
    auto dir = find("memory");
    if (!dir) return fail(Errc::unsupported, "memory limits: the memory controller is not mounted");
    bool have_memsw = std::filesystem::exists(*dir / "memory.memsw.limit_in_bytes");
    if (m.limit) {
      // memsw must stay >= limit: raising the limit above the current memsw limit fails with
      // EINVAL until memsw is raised first.
      auto st = write_control(*dir, "memory.limit_in_bytes", limit_value(*m.limit));
      if (!st && st.error().sys_errno() == EINVAL && have_memsw && m.swap) {
        RAIND_TRY(write_control(*dir, "memory.memsw.limit_in_bytes", limit_value(*m.swap)));
        RAIND_TRY(write_control(*dir, "memory.limit_in_bytes", limit_value(*m.limit)));
      } else if (!st) {
        return st;
      }
    }
    if (m.swap) {
      if (have_memsw) {
        RAIND_TRY(write_control(*dir, "memory.memsw.limit_in_bytes", limit_value(*m.swap)));
      } else if (*m.swap > 0 && (!m.limit || *m.swap != *m.limit)) {
        return fail(Errc::unsupported, "memory.swap: swap accounting is disabled on this host");
      }
    }
    if (m.reservation)
      RAIND_TRY(write_control(*dir, "memory.soft_limit_in_bytes", limit_value(*m.reservation)));
    if (m.swappiness && *m.swappiness <= 100)
      RAIND_TRY(write_control(*dir, "memory.swappiness", std::to_string(*m.swappiness)));
    if (m.disable_oom_killer && *m.disable_oom_killer)
      RAIND_TRY(write_control(*dir, "memory.oom_control", "1"));
    // The kernel still honours the TCP buffer limit (unlike the deprecated kmem limit, which
    // it accepts and ignores: that one is not written).
    if (m.kernel_tcp && std::filesystem::exists(*dir / "memory.kmem.tcp.limit_in_bytes"))
      RAIND_TRY(write_control(*dir, "memory.kmem.tcp.limit_in_bytes", limit_value(*m.kernel_tcp)));
    return ok();
  }

  Status apply_cpu(const CpuLimits& c) {
    if (auto dir = find("cpu")) {
      if (c.shares && *c.shares)
        RAIND_TRY(write_control(*dir, "cpu.shares", std::to_string(*c.shares)));
      if (c.period && *c.period)
        RAIND_TRY(write_control(*dir, "cpu.cfs_period_us", std::to_string(*c.period)));
      if (c.quota && *c.quota)
        RAIND_TRY(write_control(*dir, "cpu.cfs_quota_us", limit_value(*c.quota)));
      if (c.burst) RAIND_TRY(write_control(*dir, "cpu.cfs_burst_us", std::to_string(*c.burst)));
      if (c.realtime_period && *c.realtime_period)
        RAIND_TRY(write_control(*dir, "cpu.rt_period_us", std::to_string(*c.realtime_period)));
      if (c.realtime_runtime && *c.realtime_runtime)
        RAIND_TRY(write_control(*dir, "cpu.rt_runtime_us", std::to_string(*c.realtime_runtime)));
      if (c.idle) RAIND_TRY(write_control(*dir, "cpu.idle", std::to_string(*c.idle)));
    } else if ((c.shares && *c.shares) || (c.quota && *c.quota > 0)) {
      return fail(Errc::unsupported, "cpu limits: the cpu controller is not mounted");
    }
    if ((c.cpus && !c.cpus->empty()) || (c.mems && !c.mems->empty())) {
      auto dir = find("cpuset");
      if (!dir) return fail(Errc::unsupported, "cpuset: the cpuset controller is not mounted");
      if (c.cpus && !c.cpus->empty()) RAIND_TRY(write_control(*dir, "cpuset.cpus", *c.cpus));
      if (c.mems && !c.mems->empty()) RAIND_TRY(write_control(*dir, "cpuset.mems", *c.mems));
    }
    return ok();
  }

  Status apply_blkio(const BlockIoLimits& b) {
    auto dir = find("blkio");
    if (!dir) return fail(Errc::unsupported, "blockIO: the blkio controller is not mounted");
    // Without CFQ (removed in 5.0) the proportional weight lives in BFQ's files.
    const bool bfq = !std::filesystem::exists(*dir / "blkio.weight") &&
                     std::filesystem::exists(*dir / "blkio.bfq.weight");
    const bool any_weight = bfq || std::filesystem::exists(*dir / "blkio.weight");
    if ((b.weight || b.leaf_weight || !b.weight_devices.empty()) && !any_weight)
      return fail(Errc::unsupported,
                  "linux.resources.blockIO weights: this kernel has no proportional I/O weight "
                  "(neither blkio.weight nor blkio.bfq.weight exists)");
    if (b.weight)
      RAIND_TRY(write_control(*dir, bfq ? "blkio.bfq.weight" : "blkio.weight",
                              std::to_string(*b.weight)));
    if (b.leaf_weight)
      RAIND_TRY(write_control(*dir, "blkio.leaf_weight", std::to_string(*b.leaf_weight)));
    for (const auto& w : b.weight_devices) {
      if (w.weight)
        RAIND_TRY(write_control(*dir, bfq ? "blkio.bfq.weight_device" : "blkio.weight_device",
                                fmt::format("{}:{} {}", w.major, w.minor, *w.weight)));
    }
    auto throttle = [&](const char* file, const std::vector<ThrottleDevice>& list) -> Status {
      for (const auto& t : list)
        RAIND_TRY(write_control(*dir, file, fmt::format("{}:{} {}", t.major, t.minor, t.rate)));
      return ok();
    };
    RAIND_TRY(throttle("blkio.throttle.read_bps_device", b.throttle_read_bps));
    RAIND_TRY(throttle("blkio.throttle.write_bps_device", b.throttle_write_bps));
    RAIND_TRY(throttle("blkio.throttle.read_iops_device", b.throttle_read_iops));
    RAIND_TRY(throttle("blkio.throttle.write_iops_device", b.throttle_write_iops));
    return ok();
  }

  Status set_freezer(const char* state) {
    auto dir = find("freezer");
    if (!dir) return fail(Errc::unsupported, "the freezer controller is not mounted");
    RAIND_TRY(write_control(*dir, "freezer.state", state));
    // FREEZING is transitional: wait (bounded) until the kernel reports the final state.
    for (int i = 0; i < 500; ++i) {
      RAIND_TRY_ASSIGN(std::string current, read_control(*dir, "freezer.state"));
      if (trim(current) == state) return ok();
      if (i % 50 == 49) RAIND_TRY(write_control(*dir, "freezer.state", state));
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return failf(Errc::timeout, "cgroup {} did not reach {}", dir->string(), state);
  }

  std::map<std::string, std::filesystem::path> dirs_;
};

}  // namespace

Result<std::unique_ptr<Manager>> make_v1_manager(
    std::map<std::string, std::filesystem::path> dirs) {
  if (dirs.empty()) return fail(Errc::unsupported, "no cgroup v1 controller is mounted");
  return std::unique_ptr<Manager>(new V1Manager(std::move(dirs)));
}

}  // namespace raind::cgroups

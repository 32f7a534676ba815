// cgroup v2 backend: one directory in the unified hierarchy.
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "cgroups_internal.hpp"
#include "fs_util.hpp"
#include "raind/cgroups/device_filter.hpp"

namespace raind::cgroups {

// cgroup v1 cpu.shares (2..262144) mapped onto v2 cpu.weight (1..10000).
std::uint64_t shares_to_weight(std::uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

namespace {

std::string max_or(std::int64_t v) {
  return v < 0 ? "max" : std::to_string(v);
}

class V2Manager final : public Manager {
 public:
  explicit V2Manager(std::filesystem::path dir) : dir_(std::move(dir)) {}

  Version version() const override { return Version::v2; }

  Status create() override {
    // Controllers must be enabled in every ancestor's subtree_control down to our parent.
    std::vector<std::filesystem::path> chain;
    for (auto p = dir_.parent_path(); p.has_relative_path(); p = p.parent_path()) {
      chain.push_back(p);
      if (!std::filesystem::exists(p / "cgroup.subtree_control")) break;
    }
    RAIND_TRY(make_dirs(dir_));
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
      auto available = read_control(*it, "cgroup.controllers");
      if (!available) continue;
      std::istringstream in(*available);
      for (std::string c; in >> c;) {
        // Best effort per controller: a controller the parent cannot delegate stays off.
        (void)write_control(*it, "cgroup.subtree_control", "+" + c);
      }
    }
    return ok();
  }

  Status apply(const Resources& r) override {
    if (r.memory) {
      const auto& m = *r.memory;
      if (m.limit) RAIND_TRY(write_control(dir_, "memory.max", max_or(*m.limit)));
      if (m.reservation) RAIND_TRY(write_control(dir_, "memory.low", max_or(*m.reservation)));
      if (m.swap) {
        // OCI swap is memory+swap; v2 memory.swap.max is swap alone.
        std::string v = "max";
        if (*m.swap >= 0) {
          std::int64_t limit = m.limit.value_or(-1);
          if (limit < 0)
            return fail(Errc::invalid_argument, "memory.swap needs memory.limit on cgroup v2");
          if (*m.swap < limit)
            return failf(Errc::invalid_argument, "memory.swap ({}) is below memory.limit ({})",
                         *m.swap, limit);
          v = std::to_string(*m.swap - limit);
        }
        if (std::filesystem::exists(dir_ / "memory.swap.max"))
          RAIND_TRY(write_control(dir_, "memory.swap.max", v));
      }
      if (m.disable_oom_killer && *m.disable_oom_killer)
        return fail(Errc::unsupported, "disableOOMKiller is not available on cgroup v2");
    }
    if (r.cpu) {
      const auto& c = *r.cpu;
      if (c.shares && *c.shares)
        RAIND_TRY(write_control(dir_, "cpu.weight", std::to_string(shares_to_weight(*c.shares))));
      if ((c.quota && *c.quota) || (c.period && *c.period)) {
        std::string quota = c.quota && *c.quota > 0 ? std::to_string(*c.quota) : "max";
        std::uint64_t period = c.period && *c.period ? *c.period : 100000;
        RAIND_TRY(write_control(dir_, "cpu.max", fmt::format("{} {}", quota, period)));
      }
      if (c.burst) RAIND_TRY(write_control(dir_, "cpu.max.burst", std::to_string(*c.burst)));
      if (c.idle) RAIND_TRY(write_control(dir_, "cpu.idle", std::to_string(*c.idle)));
      if (c.cpus && !c.cpus->empty()) RAIND_TRY(write_control(dir_, "cpuset.cpus", *c.cpus));
      if (c.mems && !c.mems->empty()) RAIND_TRY(write_control(dir_, "cpuset.mems", *c.mems));
      if ((c.realtime_runtime && *c.realtime_runtime) || (c.realtime_period && *c.realtime_period))
        return fail(Errc::unsupported, "realtime cpu limits are not available on cgroup v2");
    }
    if (r.pids && r.pids->limit)
      RAIND_TRY(write_control(dir_, "pids.max",
                              *r.pids->limit > 0 ? std::to_string(*r.pids->limit) : "max"));
    if (r.block_io) {
      const auto& b = *r.block_io;
      if (b.weight)
        RAIND_TRY(write_control(dir_, "io.weight", fmt::format("default {}", *b.weight)));
      for (const auto& w : b.weight_devices)
        if (w.weight)
          RAIND_TRY(write_control(dir_, "io.weight",
                                  fmt::format("{}:{} {}", w.major, w.minor, *w.weight)));
      auto limits = [&](const char* key, const std::vector<ThrottleDevice>& list) -> Status {
        for (const auto& t : list)
          RAIND_TRY(write_control(dir_, "io.max",
                                  fmt::format("{}:{} {}={}", t.major, t.minor, key, t.rate)));
        return ok();
      };
      RAIND_TRY(limits("rbps", b.throttle_read_bps));
      RAIND_TRY(limits("wbps", b.throttle_write_bps));
      RAIND_TRY(limits("riops", b.throttle_read_iops));
      RAIND_TRY(limits("wiops", b.throttle_write_iops));
    }
    for (const auto& h : r.hugepages)
      RAIND_TRY(
          write_control(dir_, fmt::format("hugetlb.{}.max", h.page_size), std::to_string(h.limit)));
    for (const auto& [file, value] : r.unified) {
      if (file.find('/') != std::string::npos || file.starts_with("."))
        return failf(Errc::invalid_argument, "linux.resources.unified: invalid file name {:?}",
                     file);
      RAIND_TRY(write_control(dir_, file, value));
    }
    if (!r.devices.empty()) RAIND_TRY(attach_device_filter(dir_, compile_device_filter(r.devices)));
    return ok();
  }

  Status add_process(pid_t pid) override {
    return write_control(dir_, "cgroup.procs", std::to_string(pid));
  }

  Status freeze() override { return set_frozen(true); }
  Status thaw() override { return set_frozen(false); }

  Result<bool> frozen() const override {
    auto events = read_control(dir_, "cgroup.events");
    if (!events) return false;
    return parse_flat_keyed(*events)["frozen"] == 1;
  }

  Result<std::vector<pid_t>> pids() const override {
    std::vector<pid_t> out;
    std::error_code ec;
    std::vector<std::filesystem::path> all = {dir_};
    for (auto it = std::filesystem::recursive_directory_iterator(dir_, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
      if (it->is_directory(ec)) all.push_back(it->path());
    for (const auto& d : all) {
      auto text = read_control(d, "cgroup.procs");
      if (!text) {
        if (d == dir_) return std::unexpected(std::move(text.error()));
        continue;
      }
      std::istringstream in(*text);
      for (pid_t p; in >> p;) out.push_back(p);
    }
    return out;
  }

  Result<Stats> stats() const override {
    Stats s;
    auto keyed = [&](const char* file) {
      auto v = read_control(dir_, file);
      return v ? parse_flat_keyed(*v) : std::map<std::string, std::uint64_t>{};
    };
    auto num = [&](const char* file, std::uint64_t max_value = 0) -> std::uint64_t {
      auto v = read_control(dir_, file);
      return v ? parse_u64_or_max(*v, max_value) : 0;
    };
    auto cpu = keyed("cpu.stat");
    s.cpu.usage_total_ns = cpu["usage_usec"] * 1000;
    s.cpu.usage_user_ns = cpu["user_usec"] * 1000;
    s.cpu.usage_kernel_ns = cpu["system_usec"] * 1000;
    s.cpu.periods = cpu["nr_periods"];
    s.cpu.throttled_periods = cpu["nr_throttled"];
    s.cpu.throttled_time_ns = cpu["throttled_usec"] * 1000;
    s.memory.usage = num("memory.current");
    s.memory.max_usage = num("memory.peak");
    s.memory.limit = num("memory.max");
    s.memory.swap_usage = num("memory.swap.current");
    s.memory.swap_limit = num("memory.swap.max");
    s.memory.raw = keyed("memory.stat");
    s.memory.cache = s.memory.raw["file"];
    auto events = keyed("memory.events");
    s.memory.oom_kill = events["oom_kill"];
    s.memory.failcnt = events["max"];
    s.pids.current = num("pids.current");
    s.pids.limit = num("pids.max", 0);
    if (auto io = read_control(dir_, "io.stat")) {
      std::istringstream in(*io);
      std::string line;
      while (std::getline(in, line)) {
        std::istringstream fields(line);
        std::string dev;
        fields >> dev;
        auto colon = dev.find(':');
        if (colon == std::string::npos) continue;
        std::uint64_t major = std::stoull(dev.substr(0, colon));
        std::uint64_t minor = std::stoull(dev.substr(colon + 1));
        for (std::string kv; fields >> kv;) {
          auto eq = kv.find('=');
          if (eq == std::string::npos) continue;
          std::string key = kv.substr(0, eq);
          std::uint64_t value = parse_u64_or_max(kv.substr(eq + 1));
          if (key == "rbytes") s.blkio.io_service_bytes.push_back({major, minor, "Read", value});
          if (key == "wbytes") s.blkio.io_service_bytes.push_back({major, minor, "Write", value});
          if (key == "rios") s.blkio.io_serviced.push_back({major, minor, "Read", value});
          if (key == "wios") s.blkio.io_serviced.push_back({major, minor, "Write", value});
        }
      }
    }
    return s;
  }

  Status destroy() override { return remove_cgroup_tree(dir_); }

  nlohmann::json to_json() const override { return {{"version", "v2"}, {"dir", dir_.string()}}; }
  std::filesystem::path primary_path() const override { return dir_; }

 private:
  Status set_frozen(bool frozen) {
    RAIND_TRY(write_control(dir_, "cgroup.freeze", frozen ? "1" : "0"));
    for (int i = 0; i < 500; ++i) {
      auto events = read_control(dir_, "cgroup.events");
      if (!events) return std::unexpected(std::move(events.error()));
      if ((parse_flat_keyed(*events)["frozen"] == 1) == frozen) return ok();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return failf(Errc::timeout, "cgroup {} did not {}", dir_.string(), frozen ? "freeze" : "thaw");
  }

  std::filesystem::path dir_;
};

}  // namespace

Result<std::unique_ptr<Manager>> make_v2_manager(std::filesystem::path dir) {
  return std::unique_ptr<Manager>(new V2Manager(std::move(dir)));
}

}  // namespace raind::cgroups

#include <cctype>

#include "cli.hpp"
#include "raind/sys/files.hpp"

namespace raind::droplet::cli {
namespace {

// "512m", "1g", "1048576" → bytes; "-1" = unlimited.
Result<std::int64_t> parse_bytes(const std::string& s) {
  if (s == "-1") return -1;
  std::size_t pos = 0;
  double v = 0;
  try {
    v = std::stod(s, &pos);
  } catch (...) {
    return failf(Errc::invalid_argument, "invalid size \"{}\"", s);
  }
  std::string unit = s.substr(pos);
  for (auto& c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (!unit.empty() && unit.back() == 'b') unit.pop_back();
  if (!unit.empty() && unit.back() == 'i') unit.pop_back();
  double mul = 1;
  if (unit == "k")
    mul = 1024.0;
  else if (unit == "m")
    mul = 1024.0 * 1024;
  else if (unit == "g")
    mul = 1024.0 * 1024 * 1024;
  else if (unit == "t")
    mul = 1024.0 * 1024 * 1024 * 1024;
  else if (!unit.empty())
    return failf(Errc::invalid_argument, "invalid size \"{}\"", s);
  return static_cast<std::int64_t>(v * mul);
}

}  // namespace

void add_update(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("update", "update the resource limits of a container");
  struct Flags {
    std::string id, resources, memory, memory_swap, memory_reservation, cpuset_cpus, cpuset_mems;
    std::optional<std::int64_t> pids_limit, cpu_quota;
    std::optional<std::uint64_t> cpu_period, cpu_shares;
  };
  auto f = std::make_shared<Flags>();
  sub->add_option("-r,--resources", f->resources, "resources JSON file (- for stdin)");
  sub->add_option("-m,--memory", f->memory, "memory limit (bytes, or with k/m/g suffix)");
  sub->add_option("--memory-swap", f->memory_swap, "memory+swap limit");
  sub->add_option("--memory-reservation", f->memory_reservation, "memory soft limit");
  sub->add_option("--pids-limit", f->pids_limit, "maximum number of pids");
  sub->add_option("--cpu-quota", f->cpu_quota, "CFS quota in microseconds");
  sub->add_option("--cpu-period", f->cpu_period, "CFS period in microseconds");
  sub->add_option("--cpu-share", f->cpu_shares, "CPU shares");
  sub->add_option("--cpu-shares", f->cpu_shares, "CPU shares");
  sub->add_option("--cpuset-cpus", f->cpuset_cpus, "CPUs to use");
  sub->add_option("--cpuset-mems", f->cpuset_mems, "memory nodes to use");
  sub->add_option("id", f->id, "container id")->required();
  sub->callback([&g, f] {
    cgroups::Resources res;
    if (!f->resources.empty()) {
      std::string text;
      if (f->resources == "-") {
        auto t = raind::sys::read_fd(0);
        if (!t) {
          g.exit_code = report(g, t.error());
          return;
        }
        text = *t;
      } else {
        auto t = raind::sys::read_file(f->resources);
        if (!t) {
          g.exit_code = report(g, t.error());
          return;
        }
        text = *t;
      }
      auto j = nlohmann::json::parse(text, nullptr, false);
      if (j.is_discarded()) {
        g.exit_code = report(g, Error(Errc::parse, "resources: malformed JSON"));
        return;
      }
      auto r = oci::resources_from_json(j);
      if (!r) {
        g.exit_code = report(g, r.error());
        return;
      }
      res = to_cgroup_resources(*r);
    }
    auto mem = [&](const std::string& s, auto setter) -> bool {
      if (s.empty()) return true;
      auto v = parse_bytes(s);
      if (!v) {
        g.exit_code = report(g, v.error());
        return false;
      }
      if (!res.memory) res.memory = cgroups::MemoryLimits{};
      setter(*res.memory, *v);
      return true;
    };
    if (!mem(f->memory, [](auto& m, std::int64_t v) { m.limit = v; })) return;
    if (!mem(f->memory_swap, [](auto& m, std::int64_t v) { m.swap = v; })) return;
    if (!mem(f->memory_reservation, [](auto& m, std::int64_t v) { m.reservation = v; })) return;
    if (f->pids_limit) res.pids = cgroups::PidsLimits{*f->pids_limit};
    if (f->cpu_quota || f->cpu_period || f->cpu_shares || !f->cpuset_cpus.empty() ||
        !f->cpuset_mems.empty()) {
      if (!res.cpu) res.cpu = cgroups::CpuLimits{};
      if (f->cpu_quota) res.cpu->quota = *f->cpu_quota;
      if (f->cpu_period) res.cpu->period = *f->cpu_period;
      if (f->cpu_shares) res.cpu->shares = *f->cpu_shares;
      if (!f->cpuset_cpus.empty()) res.cpu->cpus = f->cpuset_cpus;
      if (!f->cpuset_mems.empty()) res.cpu->mems = f->cpuset_mems;
    }
    auto st = g.runtime().update(f->id, res);
    if (!st) g.exit_code = report(g, st.error());
  });
}

}  // namespace raind::droplet::cli

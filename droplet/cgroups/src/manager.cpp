// Backend selection, (de)serialisation and the runc-shaped stats document.
#include <unistd.h>

#include <fmt/format.h>

#include "cgroups_internal.hpp"

namespace raind::cgroups {
namespace {

// Controllers the v1 backend manages; others (net_cls, perf_event…) are left alone.
constexpr const char* kV1Controllers[] = {"memory", "cpu",     "cpuacct", "cpuset", "pids",
                                          "blkio",  "devices", "freezer", "hugetlb"};

// For the default path (<own>/droplet/<id>) the runtime also owns the shared "droplet" level:
// it is removed once empty so deleting the last container leaves nothing behind.
class ParentPruningManager final : public Manager {
 public:
  explicit ParentPruningManager(std::unique_ptr<Manager> inner) : inner_(std::move(inner)) {}
  Version version() const override { return inner_->version(); }
  Status create() override { return inner_->create(); }
  Status apply(const Resources& r) override { return inner_->apply(r); }
  Status add_process(pid_t pid) override { return inner_->add_process(pid); }
  std::vector<std::filesystem::path> self_join_files() const override {
    return inner_->self_join_files();
  }
  Status freeze() override { return inner_->freeze(); }
  Status thaw() override { return inner_->thaw(); }
  Result<bool> frozen() const override { return inner_->frozen(); }
  Result<std::vector<pid_t>> pids() const override { return inner_->pids(); }
  Result<Stats> stats() const override { return inner_->stats(); }
  Status destroy() override {
    RAIND_TRY(inner_->destroy());
    nlohmann::json saved = inner_->to_json();
    auto prune = [](const std::string& leaf) {
      // Fails harmlessly (ENOTEMPTY/EBUSY) while other containers still live there.
      ::rmdir(std::filesystem::path(leaf).parent_path().c_str());
    };
    if (saved.contains("dir")) prune(saved["dir"].get<std::string>());
    if (saved.contains("dirs"))
      for (auto it = saved["dirs"].begin(); it != saved["dirs"].end(); ++it)
        prune(it.value().get<std::string>());
    return ok();
  }
  nlohmann::json to_json() const override {
    nlohmann::json j = inner_->to_json();
    j["prune_parent"] = true;
    return j;
  }
  std::filesystem::path primary_path() const override { return inner_->primary_path(); }

 private:
  std::unique_ptr<Manager> inner_;
};

Result<std::unique_ptr<Manager>> wrap_default(Result<std::unique_ptr<Manager>> made, bool prune) {
  if (!made || !prune) return made;
  return std::unique_ptr<Manager>(new ParentPruningManager(std::move(*made)));
}

}  // namespace

Result<std::unique_ptr<Manager>> make_manager(const HostLayout& layout,
                                              const std::string& cgroups_path,
                                              const std::string& container_id) {
  if (layout.version == Version::v2) {
    auto own = layout.self_paths.find("");
    RAIND_TRY_ASSIGN(
        std::string rel,
        resolve_cgroup_path(cgroups_path, own == layout.self_paths.end() ? "/" : own->second,
                            container_id));
    return wrap_default(make_v2_manager(layout.unified_mount / rel.substr(1)),
                        cgroups_path.empty());
  }
  std::map<std::string, std::filesystem::path> dirs;
  for (const char* controller : kV1Controllers) {
    auto mount = layout.v1_mounts.find(controller);
    if (mount == layout.v1_mounts.end()) continue;
    auto own = layout.self_paths.find(controller);
    RAIND_TRY_ASSIGN(
        std::string rel,
        resolve_cgroup_path(cgroups_path, own == layout.self_paths.end() ? "/" : own->second,
                            container_id));
    dirs[controller] = mount->second / rel.substr(1);
  }
  return wrap_default(make_v1_manager(std::move(dirs)), cgroups_path.empty());
}

Result<std::unique_ptr<Manager>> load_manager(const nlohmann::json& saved) {
  try {
    std::string version = saved.at("version").get<std::string>();
    bool prune = saved.value("prune_parent", false);
    if (version == "v2")
      return wrap_default(make_v2_manager(saved.at("dir").get<std::string>()), prune);
    if (version == "v1") {
      std::map<std::string, std::filesystem::path> dirs;
      for (auto it = saved.at("dirs").begin(); it != saved.at("dirs").end(); ++it)
        dirs[it.key()] = it.value().get<std::string>();
      return wrap_default(make_v1_manager(std::move(dirs)), prune);
    }
    return failf(Errc::parse, "saved cgroup: unknown version {:?}", version);
  } catch (const nlohmann::json::exception& e) {
    return failf(Errc::parse, "saved cgroup: {}", e.what());
  }
}

nlohmann::json stats_to_runc_json(const Stats& s) {
  using nlohmann::json;
  auto blkio_list = [](const std::vector<Stats::BlkioEntry>& list) {
    json arr = json::array();
    for (const auto& e : list)
      arr.push_back({{"major", e.major}, {"minor", e.minor}, {"op", e.op}, {"value", e.value}});
    return arr;
  };
  json raw = json::object();
  for (const auto& [k, v] : s.memory.raw) raw[k] = v;
  return {
      {"cpu",
       {{"usage",
         {{"total", s.cpu.usage_total_ns},
          {"percpu", s.cpu.percpu_ns},
          {"kernel", s.cpu.usage_kernel_ns},
          {"user", s.cpu.usage_user_ns}}},
        {"throttling",
         {{"periods", s.cpu.periods},
          {"throttledPeriods", s.cpu.throttled_periods},
          {"throttledTime", s.cpu.throttled_time_ns}}}}},
      {"memory",
       {{"usage",
         {{"limit", s.memory.limit},
          {"usage", s.memory.usage},
          {"max", s.memory.max_usage},
          {"failcnt", s.memory.failcnt}}},
        {"swap", {{"limit", s.memory.swap_limit}, {"usage", s.memory.swap_usage}}},
        {"cache", s.memory.cache},
        {"oom_kill", s.memory.oom_kill},
        {"raw", raw}}},
      {"pids", {{"current", s.pids.current}, {"limit", s.pids.limit}}},
      {"blkio",
       {{"ioServiceBytesRecursive", blkio_list(s.blkio.io_service_bytes)},
        {"ioServicedRecursive", blkio_list(s.blkio.io_serviced)}}},
  };
}

}  // namespace raind::cgroups

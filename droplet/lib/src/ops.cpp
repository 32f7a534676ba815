// pause / resume / update / events --stats / ps: thin layers over the cgroup manager.
#include <fmt/format.h>

#include "raind/droplet/runtime.hpp"

namespace raind::droplet {

Result<std::vector<pid_t>> Runtime::pids(const std::string& id) {
  RAIND_TRY_ASSIGN(auto rec, store_.load(id));
  RAIND_TRY_ASSIGN(auto mgr, manager_of(rec));
  return mgr->pids();
}

Status Runtime::pause(const std::string& id) {
  RAIND_TRY_ASSIGN(auto rec, store_.load(id));
  auto status = store_.status(rec);
  if (status != ContainerStatus::running && status != ContainerStatus::created)
    return failf(Errc::conflict, "container \"{}\" is not running", id);
  RAIND_TRY_ASSIGN(auto mgr, manager_of(rec));
  return with_context(mgr->freeze(), fmt::format("pause container \"{}\"", id));
}

Status Runtime::resume(const std::string& id) {
  RAIND_TRY_ASSIGN(auto rec, store_.load(id));
  if (store_.status(rec) != ContainerStatus::paused)
    return failf(Errc::conflict, "container \"{}\" is not paused", id);
  RAIND_TRY_ASSIGN(auto mgr, manager_of(rec));
  return with_context(mgr->thaw(), fmt::format("resume container \"{}\"", id));
}

Status Runtime::update(const std::string& id, const cgroups::Resources& resources) {
  RAIND_TRY_ASSIGN(auto rec, store_.load(id));
  if (store_.status(rec) == ContainerStatus::stopped)
    return failf(Errc::conflict, "container \"{}\" is not running", id);
  RAIND_TRY_ASSIGN(auto mgr, manager_of(rec));
  return with_context(mgr->apply(resources), fmt::format("update container \"{}\"", id));
}

Result<nlohmann::json> Runtime::stats_event(const std::string& id) {
  RAIND_TRY_ASSIGN(auto rec, store_.load(id));
  if (store_.status(rec) == ContainerStatus::stopped)
    return failf(Errc::conflict, "container \"{}\" is not running", id);
  RAIND_TRY_ASSIGN(auto mgr, manager_of(rec));
  RAIND_TRY_ASSIGN(auto stats, mgr->stats());
  return nlohmann::json{
      {"type", "stats"}, {"id", id}, {"data", cgroups::stats_to_runc_json(stats)}};
}

}  // namespace raind::droplet

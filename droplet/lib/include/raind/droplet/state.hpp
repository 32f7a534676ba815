#pragma once
// Per-container persisted record (<root>/<id>/state.json) and live status computation.
// The record is what lets kill/delete/exec/pause from a different droplet process find the init,
// its cgroup and its configuration.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "raind/error.hpp"
#include "raind/oci/runtime_spec.hpp"

namespace raind::droplet {

enum class ContainerStatus { creating, created, running, paused, stopped };
std::string_view status_name(ContainerStatus status);

struct ContainerRecord {
  std::string id;
  pid_t init_pid = 0;
  std::uint64_t init_start_time = 0;  // /proc/<pid>/stat field 22; guards against pid reuse
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC 3339 UTC
  std::map<std::string, std::string> annotations;
  nlohmann::json cgroup;  // cgroups::Manager::to_json(), null when none
  std::string owner;
  std::string config_sha256;
  std::string failure;    // why the container stopped before its process ran (e.g. integrity)
  nlohmann::json config;  // the config.json document the container was created from
};

nlohmann::json record_to_json(const ContainerRecord& record);
Result<ContainerRecord> record_from_json(const nlohmann::json& j);

// Reads /proc/<pid>/stat: start time (field 22) and state letter. nullopt when gone.
struct ProcStat {
  char state = '?';
  std::uint64_t start_time = 0;
  pid_t ppid = 0;
};
std::optional<ProcStat> read_proc_stat(pid_t pid);
// Alive = exists, not a zombie, and the same process (start time matches when known).
bool process_alive(pid_t pid, std::uint64_t start_time);

class StateStore {
 public:
  explicit StateStore(std::filesystem::path root) : root_(std::move(root)) {}
  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path dir(std::string_view id) const { return root_ / std::string(id); }
  std::filesystem::path fifo_path(std::string_view id) const { return dir(id) / "exec.fifo"; }

  // Creates <root>/<id> exclusively (0711). EEXIST → already_exists naming the container.
  Status create_dir(std::string_view id) const;
  Status save(const ContainerRecord& record) const;
  // not_found: container "x" does not exist.
  Result<ContainerRecord> load(std::string_view id) const;
  Status remove(std::string_view id) const;
  Result<std::vector<std::string>> ids() const;

  ContainerStatus status(const ContainerRecord& record) const;

 private:
  std::filesystem::path root_;
};

// The OCI state document for a record with its live status.
oci::State oci_state(const ContainerRecord& record, ContainerStatus status);

std::string now_rfc3339();

}  // namespace raind::droplet

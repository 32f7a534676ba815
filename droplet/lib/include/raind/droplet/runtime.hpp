#pragma once
// droplet's container operations, one call per CLI verb. The CLI only parses flags and prints.
#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "raind/cgroups/manager.hpp"
#include "raind/droplet/state.hpp"
#include "raind/error.hpp"
#include "raind/oci/runtime_spec.hpp"

namespace raind::droplet {
namespace audit {
struct Subject;
}

struct CreateOptions {
  std::string id;
  std::filesystem::path bundle;  // empty: current directory
  std::string console_socket;
  std::string pid_file;
  bool no_pivot = false;
  int preserve_fds = 0;
  // Keep a detached TTY shim for the container (also: annotation io.raind.tty=shim).
  bool tty_shim = false;
  // An already connected console socket (used by the shim instead of console_socket).
  int console_fd = -1;
};

inline constexpr std::string_view kTtyAnnotation = "io.raind.tty";

struct ExecOptions {
  std::string id;
  std::optional<std::filesystem::path> process_file;  // --process
  std::vector<std::string> args;
  bool tty = false;
  bool detach = false;
  std::string console_socket;
  std::string pid_file;
  std::string cwd;
  std::vector<std::string> env;
  std::optional<std::string> user;  // uid[:gid]
  std::vector<std::string> caps;    // extra capabilities
  int preserve_fds = 0;
  // The exec session lives under a detached shim (socket <state>/exec-<pid>.sock, output log
  // exec-<pid>.log, exit status exec-<pid>.exit.json); droplet returns once it started.
  bool tty_shim = false;
  int console_fd = -1;           // an already connected console socket (the shim's)
  pid_t* started_pid = nullptr;  // receives the process's pid
};

struct ContainerInfo {
  ContainerRecord record;
  ContainerStatus status;
};

class Runtime {
 public:
  explicit Runtime(std::filesystem::path root) : store_(std::move(root)) {}
  const StateStore& store() const { return store_; }

  // Creates the container and returns the init pid; the init waits on exec.fifo.
  Result<pid_t> create(const CreateOptions& options, bool foreground = false);
  Status start(const std::string& id);
  // create + start + wait; returns the exit code (128+signal). detach: returns 0 after start.
  Result<int> run(const CreateOptions& options, bool detach);
  Result<nlohmann::json> state(const std::string& id);
  Status kill(const std::string& id, int signal, bool all);
  Status remove(const std::string& id, bool force);
  Result<int> exec(const ExecOptions& options);
  Result<std::vector<pid_t>> pids(const std::string& id);
  Status pause(const std::string& id);
  Status resume(const std::string& id);
  Status update(const std::string& id, const cgroups::Resources& resources);
  Result<nlohmann::json> stats_event(const std::string& id);
  Result<std::vector<ContainerInfo>> list();

 private:
  Result<std::unique_ptr<cgroups::Manager>> manager_of(const ContainerRecord& record) const;
  // The steps of create; `stage` names the step that was running when one fails (audit log).
  Result<pid_t> create_with_shim(const CreateOptions& options);
  Result<pid_t> create_steps(const CreateOptions& options, bool foreground, audit::Subject& subject,
                             std::string& stage);
  Status start_steps(const std::string& id, audit::Subject& subject, std::string& stage);
  Status kill_steps(const std::string& id, int signal, bool all, audit::Subject& subject);
  Result<int> exec_steps(const ExecOptions& options);
  Result<int> exec_with_shim(const ExecOptions& options);
  Status remove_steps(const std::string& id, bool force, audit::Subject& subject,
                      std::string& stage);
  StateStore store_;
};

// OCI linux.resources → the cgroup manager's resource model.
cgroups::Resources to_cgroup_resources(const oci::Resources& resources);

// The OCI features document (runtime-spec features.md) for `droplet features`.
nlohmann::json features_document();

// State JSON as runc prints it (OCI state plus rootfs/created/owner).
nlohmann::json state_json(const ContainerRecord& record, ContainerStatus status);

}  // namespace raind::droplet

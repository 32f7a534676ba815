#pragma once
#include <sys/types.h>

#include <functional>
#include <string>

#include "plan.hpp"
#include "raind/cgroups/manager.hpp"
#include "raind/error.hpp"

namespace raind::droplet {

struct SpawnHooks {
  // Creates the cgroup and writes its limits; runs after clone, concurrently with the child's
  // own setup, and before the child is moved into the cgroup.
  std::function<Status()> setup_cgroup;
  // Runs prestart/createRuntime/createContainer hooks once the init's namespaces exist.
  std::function<Status(pid_t init_pid)> create_hooks;
  // State JSON handed to the init for startContainer hooks.
  std::function<std::string(pid_t init_pid)> start_state;
  // SHA-256 (hex) of config.json as create read it; the init refuses to run on a mismatch.
  std::string config_digest;
};

// Clones the init, drives the sync protocol until the init is ready (waiting on exec.fifo).
// On failure the init is killed and reaped. Returns the init's pid.
Result<pid_t> spawn_init(InitPlan& plan, const oci::Spec& spec, cgroups::Manager* cgroup,
                         const cgroups::HostLayout* layout, const SpawnHooks& hooks);

// Moves fd to a number >= min_fd (close-on-exec), closing the original.
Result<int> move_fd_high(int fd, int min_fd);

// Connects to a --console-socket (create and exec send the pty master there).
Result<UniqueFd> connect_console_socket(const std::string& path);

}  // namespace raind::droplet

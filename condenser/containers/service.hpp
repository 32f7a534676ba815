#pragma once
// The container service: condenserd's side of a container's life. It writes the bundle
// (config.json, /etc files, overlay dirs), drives droplet as a child process, owns the host side
// of networking (bridges, IPAM, published ports) and keeps the store in step with the kernel.
//
// Crash safety rests on one rule: the store row is written *before* anything is created on the
// host and removed *after* everything is gone, with `creating`/`deleting` marking the unfinished
// parts. reconcile() at start-up rolls a `creating` container back, finishes a `deleting` one,
// adopts running ones and removes what no row accounts for (bundles, droplet states, veths).
//
// Everything runs on the daemon's single io_context thread; coroutines interleave only at
// co_await, and a container busy with one operation refuses a second one (409) instead of
// queueing it.
#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "condenser/containers/config_gen.hpp"
#include "condenser/containers/record.hpp"
#include "condenser/hostnet/host_network.hpp"
#include "condenser/images/store.hpp"
#include "condenser/network/ipam.hpp"
#include "condenser/store/store.hpp"
#include "raind/error.hpp"
#include "raind/oci/security_profile.hpp"

namespace raind::condenser::containers {

struct ServiceOptions {
  std::filesystem::path bundles_dir;   // <state_dir>/containers
  std::filesystem::path droplet;       // the runtime binary
  std::filesystem::path droplet_root;  // droplet --root (<run_dir>/droplet)
  std::filesystem::path droplet_audit_log;
  std::string cgroup_parent = "raind";
  std::vector<std::string> nameservers;
  // When set, containers resolve through their gateway and port 53 from every bridge is
  // redirected to this address (condenserd's DNS proxy); `nameservers` are then unused.
  std::string dns_proxy;
  std::vector<std::string> protected_paths;  // never mountable as volumes (state, pki…)
  oci::SecurityProfile security;
  std::optional<HookCommand> hooks;  // none: no lifecycle hooks in config.json
  std::chrono::seconds stop_timeout{10};
  std::chrono::milliseconds liveness_period{1000};
  hostnet::IptablesBackend iptables;  // for the nat rules of published ports
  // Called when a container gets or loses its address (create, removal, network changes), so
  // the policy rules can follow; an error fails the create.
  std::function<Status()> topology_changed;
  // Pulls an image `create` does not find locally (for the host platform); none: not found.
  std::function<boost::asio::awaitable<Result<images::ImageRecord>>(std::string reference)>
      pull_missing;
};

struct ExecRequest {
  std::vector<std::string> command;
  std::vector<std::string> env;
  std::string workdir;
  std::string user;  // uid[:gid]
};

struct ExecResult {
  int exit_code = 0;
  std::string out;
  std::string err;
};

struct ExecSession {
  std::filesystem::path socket;  // the shim's attach socket
  std::filesystem::path log;     // everything the session printed so far
  std::optional<int> exit_code;  // once it ended
};

struct NetworkView {
  std::string name;
  std::string subnet;
  std::string gateway;
  std::vector<std::string> containers;  // names
};

class ContainerService {
 public:
  static Result<std::unique_ptr<ContainerService>> open(ServiceOptions options, store::Store& store,
                                                        images::ImageStore& images);

  // Start-up: store ↔ droplet ↔ kernel. Never throws away a running container.
  boost::asio::awaitable<Status> reconcile();
  // Marks exited containers stopped (exit code, OOM) and applies restart policies; forever.
  boost::asio::awaitable<void> liveness_loop();

  boost::asio::awaitable<Result<ContainerRecord>> create(CreateRequest request);
  boost::asio::awaitable<Result<ContainerRecord>> start(std::string ref);
  boost::asio::awaitable<Result<ContainerRecord>> stop(std::string ref,
                                                       std::optional<std::chrono::seconds> grace);
  boost::asio::awaitable<Result<ContainerRecord>> kill(std::string ref, std::string signal);
  boost::asio::awaitable<Result<std::string>> remove(std::string ref, bool force);
  boost::asio::awaitable<Result<ExecResult>> exec(std::string ref, ExecRequest request);
  // A terminal session (exec -t) under droplet's shim; returns its pid for exec_session().
  boost::asio::awaitable<Result<std::int64_t>> exec_terminal(std::string ref, ExecRequest request);
  Result<ExecSession> exec_session(const std::string& ref, std::int64_t pid);
  // Returns once the container is stopped, or after `limit` with its current state (clients
  // poll again: a request must not outlive the client's timeout).
  boost::asio::awaitable<Result<ContainerRecord>> wait(std::string ref,
                                                       std::chrono::milliseconds limit);

  Result<std::vector<ContainerRecord>> list(bool all);
  Result<ContainerRecord> inspect(const std::string& ref);
  // The container's output (stdout+stderr, or the terminal); the last `tail_lines` lines when set.
  Result<std::string> logs(const std::string& ref, std::optional<std::size_t> tail_lines);
  std::optional<std::string> spiffe_id(const std::string& id);
  // The shim's attach socket of a running terminal container.
  Result<std::filesystem::path> attach_socket(const std::string& ref);

  // Lifecycle hooks reported by `condenserd hook` (already authenticated as the container).
  Status on_hook(const std::string& event, const std::string& id, std::int64_t pid);

  Result<std::vector<NetworkView>> networks();
  Result<NetworkView> create_network(const std::string& name);
  Status remove_network(const std::string& name);

 private:
  ContainerService(ServiceOptions options, store::Store& store, images::ImageStore& images,
                   network::Ipam ipam);
  class BusyGuard;

  Result<ContainerRecord> resolve(const std::string& ref);
  Result<ContainerRecord> load(const std::string& id);
  Status save(const ContainerRecord& record);
  std::filesystem::path bundle_dir(const std::string& id) const;
  std::filesystem::path runtime_dir(const std::string& id) const;
  std::vector<std::string> droplet_argv(std::vector<std::string> args) const;
  Result<std::vector<std::string>> exec_args(const ContainerRecord& record,
                                             const ExecRequest& request);

  Status write_bundle(const ContainerRecord& record, const CreateRequest& request,
                      const images::ImageRecord& image);
  Status prepare_network(const ContainerRecord& record);
  Status apply_published_ports();
  Status persist_networks();
  boost::asio::awaitable<Status> runtime_create(const ContainerRecord& record);
  boost::asio::awaitable<Result<std::int64_t>> runtime_start(const ContainerRecord& record);
  boost::asio::awaitable<Status> runtime_delete(const std::string& id);
  boost::asio::awaitable<Result<std::string>> runtime_status(const std::string& id,
                                                             std::int64_t* pid);
  boost::asio::awaitable<Status> rollback(const ContainerRecord& record);
  boost::asio::awaitable<Status> remove_cgroup_leftovers(const std::string& id);
  boost::asio::awaitable<Status> finish_delete(const ContainerRecord& record);
  boost::asio::awaitable<Result<ContainerRecord>> start_locked(ContainerRecord record);
  // Exit status from the shim, OOM from the cgroup; the record becomes `stopped`.
  void record_exit(ContainerRecord& record);
  // True once the shim has written exit.json, or once the init pid has been gone for longer
  // than the shim needs to write it (the shim itself died, or the host rebooted).
  bool has_exited(const ContainerRecord& record);
  // Records the exit and applies the restart policy.
  boost::asio::awaitable<void> handle_exit(ContainerRecord record);
  boost::asio::awaitable<void> wait_exit(const ContainerRecord& record,
                                         std::chrono::milliseconds limit);
  Status remove_orphans(const std::vector<ContainerRecord>& records);

  ServiceOptions options_;
  store::Store& store_;
  images::ImageStore& images_;
  network::Ipam ipam_;
  std::set<std::string> busy_;
  // When each container's init pid was first seen gone without an exit.json.
  std::map<std::string, std::chrono::steady_clock::time_point> vanished_since_;
};

}  // namespace raind::condenser::containers

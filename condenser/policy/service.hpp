#pragma once
// The policy engine's state machine: the working set (what the next commit publishes) and the
// committed revision (what is in force) live in the store; a commit compiles the working set
// against the current containers and applies it in one iptables-restore transaction before it
// is recorded, so a failed apply changes nothing. Container starts and removals re-render the
// *committed* revision only: staged changes never take effect behind the operator's back.
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "condenser/hostnet/host_network.hpp"
#include "condenser/policy/compile.hpp"
#include "condenser/policy/policy.hpp"
#include "condenser/store/store.hpp"
#include "raind/error.hpp"

namespace raind::condenser::policy {

struct PolicyEnvironment {
  std::vector<ContainerEndpoint> containers;
  std::vector<BridgeInfo> bridges;
  std::string dns_proxy;  // the DNS proxy's address, reachable from every bridge on port 53
};

struct PolicyListing {
  std::uint64_t revision = 0;
  NsMode mode = NsMode::observe;    // in force
  std::optional<NsMode> next_mode;  // staged, when it differs
  std::vector<PolicyView> policies;
};

struct CommitResult {
  std::uint64_t revision = 0;
  std::size_t rules = 0;
  std::size_t unresolved = 0;
};

class PolicyService {
 public:
  using EnvironmentFn = std::function<Result<PolicyEnvironment>()>;
  using ApplyFn = std::function<Status(const hostnet::FilterRules&)>;
  // policy id, containers now, containers before (for the audit log)
  using ReboundFn = std::function<void(const std::string&, const std::string&, const std::string&)>;

  // apply: defaults to hostnet::apply_filter with the default backend.
  static Result<std::unique_ptr<PolicyService>> open(store::Store& store, EnvironmentFn environment,
                                                     ApplyFn apply = {});

  // Stages a new policy (id assigned; a container id as source or destination becomes its
  // current name). Errors name the field.
  Result<Policy> add(Policy policy);
  // Stages the removal; unknown ids are not_found, a bottle's policies a conflict.
  Result<Policy> remove(const std::string& id);
  // A bottle's policies: validated, given ids, owned by `owner` and committed at once (a new
  // revision) without publishing anything the operator has staged. All or nothing: when the
  // kernel refuses the rules nothing is recorded.
  Result<std::vector<Policy>> install_owned(const std::string& owner, std::vector<Policy> policies);
  // Removes every policy of `owner` in one new revision; none is not an error.
  Result<CommitResult> uninstall_owned(const std::string& owner);
  Status set_mode(NsMode mode);
  PolicyListing list() const;
  Result<CommitResult> commit();
  // The working set becomes the committed revision again.
  Status revert();
  void on_rebound(ReboundFn fn) { on_rebound_ = std::move(fn); }
  // Renders the committed revision against the containers as they are now (start, removal,
  // daemon start). Never publishes staged changes.
  Result<CommitResult> reapply();

 private:
  PolicyService(store::Store& store, EnvironmentFn environment, ApplyFn apply)
      : store_(store), environment_(std::move(environment)), apply_(std::move(apply)) {}
  Result<CommitResult> render_and_apply(const PolicyDocument& doc);
  Status save_working();
  // Commits `next` (a revision after committed_) and mirrors the owned policies into working_.
  Result<CommitResult> commit_document(PolicyDocument next);

  store::Store& store_;
  EnvironmentFn environment_;
  ApplyFn apply_;
  mutable std::mutex mutex_;  // commits and reapplies are serialised
  PolicyDocument working_;
  PolicyDocument committed_;
  std::vector<std::pair<std::string, std::string>> unresolved_;
  std::map<std::string, std::string> bindings_;  // policy id → containers at the last render
  std::map<std::string, std::string> rebound_;   // policy id → what changed
  ReboundFn on_rebound_;
};

}  // namespace raind::condenser::policy

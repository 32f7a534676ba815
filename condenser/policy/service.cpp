#include "condenser/policy/service.hpp"

#include <algorithm>
#include <chrono>

#include "raind/crash_point.hpp"
#include "raind/log.hpp"
#include "raind/ulid.hpp"

namespace raind::condenser::policy {
namespace {

constexpr const char* kWorkingKey = "policy.working";
constexpr const char* kCommittedKey = "policy.committed";

Result<PolicyDocument> load_document(store::Store& store, const char* key) {
  RAIND_TRY_ASSIGN(auto text, store.meta(key));
  if (!text) return PolicyDocument{};
  return with_context(parse_document(*text), key);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

Result<std::unique_ptr<PolicyService>> PolicyService::open(store::Store& store,
                                                           EnvironmentFn environment,
                                                           ApplyFn apply) {
  if (!apply)
    apply = [](const hostnet::FilterRules& rules) { return hostnet::apply_filter(rules); };
  std::unique_ptr<PolicyService> service(
      new PolicyService(store, std::move(environment), std::move(apply)));
  RAIND_TRY_ASSIGN(service->committed_, load_document(store, kCommittedKey));
  RAIND_TRY_ASSIGN(auto working, store.meta(kWorkingKey));
  if (working) {
    RAIND_TRY_ASSIGN(service->working_, with_context(parse_document(*working), kWorkingKey));
  } else {
    service->working_ = service->committed_;
  }
  // Bottle-owned policies are never staged: working mirrors committed for them (a crash between
  // the two writes of an install or uninstall leaves them apart).
  auto& staged = service->working_.policies;
  staged.erase(std::remove_if(staged.begin(), staged.end(),
                              [](const Policy& p) { return !p.owner.empty(); }),
               staged.end());
  for (const auto& p : service->committed_.policies)
    if (!p.owner.empty()) staged.push_back(p);
  return service;
}

Status PolicyService::save_working() {
  return store_.set_meta(kWorkingKey, serialize_document(working_));
}

Result<Policy> PolicyService::add(Policy policy) {
  std::lock_guard lock(mutex_);
  policy.id = lower(new_ulid());
  // Policies name containers: an id given now is kept as the name it has now.
  if (auto env = environment_()) {
    auto to_name = [&](std::string& ref) {
      for (const auto& c : env->containers)
        if (c.id == ref) ref = c.name;
    };
    to_name(policy.source);
    if (policy.type == PolicyType::east_west) to_name(policy.destination);
  }
  RAIND_TRY(validate_policy(policy));
  for (const auto& p : working_.policies) {
    if (p.type == policy.type && p.source == policy.source && p.destination == policy.destination &&
        p.protocol == policy.protocol && p.dport == policy.dport)
      return failf(Errc::already_exists, "policy {} already says this", p.id);
  }
  working_.policies.push_back(policy);
  if (auto s = save_working(); !s) {
    working_.policies.pop_back();
    return std::unexpected(s.error());
  }
  return policy;
}

Result<Policy> PolicyService::remove(const std::string& id) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(working_.policies.begin(), working_.policies.end(),
                         [&](const Policy& p) { return p.id == id; });
  if (it == working_.policies.end()) return failf(Errc::not_found, "policy '{}' not found", id);
  if (!it->owner.empty())
    return failf(Errc::conflict, "policy {} belongs to {}; it goes when that is removed", id,
                 it->owner);
  Policy removed = *it;
  working_.policies.erase(it);
  if (auto s = save_working(); !s) {
    working_.policies.push_back(removed);
    return std::unexpected(s.error());
  }
  return removed;
}

Status PolicyService::set_mode(NsMode mode) {
  std::lock_guard lock(mutex_);
  if (working_.mode == mode)
    return failf(Errc::conflict, "the north-south mode is already {}{}", mode_name(mode),
                 committed_.mode == mode ? "" : " (at the next commit)");
  auto previous = working_.mode;
  working_.mode = mode;
  if (auto s = save_working(); !s) {
    working_.mode = previous;
    return s;
  }
  return ok();
}

PolicyListing PolicyService::list() const {
  std::lock_guard lock(mutex_);
  PolicyListing out;
  out.revision = committed_.revision;
  out.mode = committed_.mode;
  if (working_.mode != committed_.mode) out.next_mode = working_.mode;
  out.policies = policy_views(working_, committed_, unresolved_);
  for (auto& v : out.policies)
    if (auto it = rebound_.find(v.policy.id); it != rebound_.end() && v.status_reason.empty())
      v.status_reason = it->second;
  return out;
}

Result<CommitResult> PolicyService::render_and_apply(const PolicyDocument& doc) {
  RAIND_TRY_ASSIGN(auto env, environment_());
  CompileInput input{doc.policies, doc.mode, std::move(env.containers), std::move(env.bridges),
                     std::move(env.dns_proxy)};
  RAIND_TRY(validate_compile_input(input));
  auto compiled = compile_policies(input);
  hostnet::FilterRules rules{compiled.payload, managed_chains(), {}};
  for (const auto& j : filter_jumps()) rules.jumps.emplace_back(j.chain, j.target);
  RAIND_TRY(apply_(rules));
  unresolved_ = compiled.unresolved;
  // Identity is by name: when a name now means another container, say so (ls and the log).
  for (const auto& [id, now] : compiled.bindings) {
    auto before = bindings_.find(id);
    if (before != bindings_.end() && before->second != now) {
      rebound_[id] = fmt::format("re-bound: containers {} (were {})", now, before->second);
      logger("condenser.policy")
          ->warn(
              "policy {} now applies to containers {} (was {}): a name it uses was taken by "
              "a new container",
              id, now, before->second);
      if (on_rebound_) on_rebound_(id, now, before->second);
    }
    bindings_[id] = now;
  }
  return CommitResult{doc.revision, compiled.rules, compiled.unresolved.size()};
}

Result<CommitResult> PolicyService::commit() {
  std::lock_guard lock(mutex_);
  return commit_document(working_);
}

Result<std::vector<Policy>> PolicyService::install_owned(const std::string& owner,
                                                         std::vector<Policy> policies) {
  std::lock_guard lock(mutex_);
  if (owner.empty()) return fail(Errc::invalid_argument, "an owned policy needs an owner");
  PolicyDocument next = committed_;
  for (auto& p : policies) {
    p.id = lower(new_ulid());
    p.owner = owner;
    RAIND_TRY(validate_policy(p));
    next.policies.push_back(p);
  }
  RAIND_TRY(commit_document(std::move(next)));
  return policies;
}

Result<CommitResult> PolicyService::uninstall_owned(const std::string& owner) {
  std::lock_guard lock(mutex_);
  PolicyDocument next = committed_;
  auto& list = next.policies;
  auto gone =
      std::remove_if(list.begin(), list.end(), [&](const Policy& p) { return p.owner == owner; });
  if (gone == list.end()) return CommitResult{committed_.revision, 0, unresolved_.size()};
  list.erase(gone, list.end());
  return commit_document(std::move(next));
}

Result<CommitResult> PolicyService::commit_document(PolicyDocument next) {
  next.revision = committed_.revision + 1;
  next.committed_unix = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
  // Applied first: if the kernel refuses the payload, nothing is recorded and the previous
  // rules stay in force.
  RAIND_TRY_ASSIGN(auto result, render_and_apply(next));
  // A crash here leaves the kernel ahead of the store: start-up re-renders the recorded revision.
  crash_point("commit.after_apply");
  RAIND_TRY(store_.set_meta(kCommittedKey, serialize_document(next)));
  // Here the working set in the store still names the old revision: open() mirrors it again.
  crash_point("commit.after_record");
  committed_ = next;
  working_.revision = next.revision;
  working_.committed_unix = next.committed_unix;
  // The owned policies in working are exactly the committed ones.
  auto& staged = working_.policies;
  staged.erase(std::remove_if(staged.begin(), staged.end(),
                              [](const Policy& p) { return !p.owner.empty(); }),
               staged.end());
  for (const auto& p : committed_.policies)
    if (!p.owner.empty()) staged.push_back(p);
  RAIND_TRY(save_working());
  logger("condenser.policy")
      ->info("policy revision {} committed: {} rules, {} policies unresolved", next.revision,
             result.rules, result.unresolved);
  return result;
}

Status PolicyService::revert() {
  std::lock_guard lock(mutex_);
  auto previous = working_;
  working_ = committed_;
  if (auto s = save_working(); !s) {
    working_ = previous;
    return s;
  }
  return ok();
}

Result<CommitResult> PolicyService::reapply() {
  std::lock_guard lock(mutex_);
  return render_and_apply(committed_);
}

}  // namespace raind::condenser::policy

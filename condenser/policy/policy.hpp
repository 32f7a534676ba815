#pragma once
// The policy model (pure): east-west allow rules between containers, north-south deny rules in
// observe mode and allow rules in enforce mode, the north-south mode, and the two documents the
// daemon keeps: the working set (what the next commit publishes) and the last committed
// revision (what is in force). Statuses are derived by comparing the two, so staging needs no
// per-policy bookkeeping: added-not-committed is pending, committed-not-working is removed at
// the next commit, in both is applied (or unresolved when its containers do not exist).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "raind/error.hpp"

namespace raind::condenser::policy {

enum class PolicyType { east_west, ns_observe, ns_enforce };
enum class NsMode { observe, enforce };

std::string_view type_name(PolicyType type);  // "ew", "ns-obs", "ns-enf"
Result<PolicyType> parse_type(std::string_view text);
std::string_view mode_name(NsMode mode);  // "observe", "enforce"
Result<NsMode> parse_mode(std::string_view text);
// EW and NS-ENF rules allow, NS-OBS rules deny.
std::string_view action_name(PolicyType type);

struct Policy {
  std::string id;  // 26-character lower-case ULID
  PolicyType type = PolicyType::east_west;
  std::string source;       // container name
  std::string destination;  // container name (ew) or IPv4 address / CIDR (ns)
  std::string protocol;     // "", "tcp", "udp", "icmp"
  std::uint16_t dport = 0;  // 0: any (tcp/udp only)
  std::string comment;
  std::string reason;  // why it exists (operator's words), shown by `policy ls`
  // "bottle:<name>" for a policy a bottle declares: installed and removed with the bottle
  // (committed at once, never staged), and not removable on its own. Empty: the operator's.
  std::string owner;
  friend bool operator==(const Policy&, const Policy&) = default;
};

// Field-by-field validation; errors name the field ("protocol", "dport", "destination"…).
Status validate_policy(const Policy& policy);
// "10.0.0.1", "10.0.0.0/8"; the host bits of a CIDR must be zero.
bool is_ipv4_or_cidr(std::string_view text);

struct PolicyDocument {
  std::uint64_t revision = 0;  // committed revisions count from 1
  NsMode mode = NsMode::observe;
  std::vector<Policy> policies;
  std::int64_t committed_unix = 0;
  friend bool operator==(const PolicyDocument&, const PolicyDocument&) = default;
};

nlohmann::json to_json(const Policy& policy);
Result<Policy> policy_from_json(const nlohmann::json& json);
std::string serialize_document(const PolicyDocument& doc);
Result<PolicyDocument> parse_document(std::string_view text);

enum class PolicyStatus { applied, pending_add, pending_remove, unresolved };
std::string_view status_name(PolicyStatus status);  // applied|pending|remove-next-commit|unresolved
std::string_view status_flag(PolicyStatus status);  // [*] [+] [-] [ ]

struct PolicyView {
  Policy policy;
  PolicyStatus status = PolicyStatus::applied;
  std::string status_reason;  // for unresolved: which container is missing
};

// Every policy of working ∪ committed with its status; `unresolved` maps committed policy ids
// to the reason they could not be rendered. Ordered by type, then id.
std::vector<PolicyView> policy_views(
    const PolicyDocument& working, const PolicyDocument& committed,
    const std::vector<std::pair<std::string, std::string>>& unresolved);

}  // namespace raind::condenser::policy

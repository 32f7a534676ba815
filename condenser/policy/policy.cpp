#include "condenser/policy/policy.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>

#include "condenser/network/ipv4.hpp"

namespace raind::condenser::policy {
namespace {

bool is_ulid(std::string_view id) {
  return id.size() == 26 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
         });
}

// Container names as condenserd accepts them (see containers::validate_container_name), or ids.
bool is_container_ref(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

std::string_view type_name(PolicyType type) {
  switch (type) {
    case PolicyType::east_west:
      return "ew";
    case PolicyType::ns_observe:
      return "ns-obs";
    case PolicyType::ns_enforce:
      return "ns-enf";
  }
  return "ew";
}

Result<PolicyType> parse_type(std::string_view text) {
  if (text == "ew" || text == "east-west") return PolicyType::east_west;
  if (text == "ns-obs" || text == "north-south_observe") return PolicyType::ns_observe;
  if (text == "ns-enf" || text == "north-south_enforce") return PolicyType::ns_enforce;
  return failf(Errc::invalid_argument, "type: '{}' is not ew, ns-obs or ns-enf", text);
}

std::string_view mode_name(NsMode mode) {
  return mode == NsMode::observe ? "observe" : "enforce";
}

Result<NsMode> parse_mode(std::string_view text) {
  if (text == "observe") return NsMode::observe;
  if (text == "enforce") return NsMode::enforce;
  return failf(Errc::invalid_argument, "mode: '{}' is not observe or enforce", text);
}

std::string_view action_name(PolicyType type) {
  return type == PolicyType::ns_observe ? "DENY" : "ALLOW";
}

bool is_ipv4_or_cidr(std::string_view text) {
  if (text.find('/') == std::string_view::npos) return network::parse_ipv4(text).has_value();
  return network::parse_subnet(text).has_value();
}

Status validate_policy(const Policy& p) {
  if (!is_ulid(p.id)) return failf(Errc::invalid_argument, "id: '{}' is not a policy id", p.id);
  if (!is_container_ref(p.source))
    return failf(Errc::invalid_argument, "source: '{}' is not a container name or id", p.source);
  if (p.type == PolicyType::east_west) {
    if (!is_container_ref(p.destination))
      return failf(Errc::invalid_argument,
                   "destination: '{}' is not a container name or id (east-west policies name "
                   "containers)",
                   p.destination);
    if (p.destination == p.source)
      return failf(Errc::invalid_argument,
                   "destination: a container does not need a policy to "
                   "reach itself");
  } else if (!is_ipv4_or_cidr(p.destination)) {
    return failf(Errc::invalid_argument,
                 "destination: '{}' is not an IPv4 address or CIDR (north-south policies name "
                 "addresses)",
                 p.destination);
  }
  if (!p.protocol.empty() && p.protocol != "tcp" && p.protocol != "udp" && p.protocol != "icmp")
    return failf(Errc::invalid_argument, "protocol: '{}' is not tcp, udp or icmp", p.protocol);
  if (p.dport != 0 && p.protocol != "tcp" && p.protocol != "udp")
    return failf(Errc::invalid_argument, "dport: a destination port needs protocol tcp or udp");
  auto printable = [](const std::string& s) {
    return s.size() <= 256 &&
           std::all_of(s.begin(), s.end(), [](unsigned char c) { return c >= 0x20 && c != 0x7f; });
  };
  if (!printable(p.comment))
    return failf(Errc::invalid_argument, "comment: at most 256 printable characters");
  if (!printable(p.reason))
    return failf(Errc::invalid_argument, "reason: at most 256 printable characters");
  return ok();
}

nlohmann::json to_json(const Policy& p) {
  nlohmann::json j{{"id", p.id},
                   {"type", type_name(p.type)},
                   {"source", p.source},
                   {"destination", p.destination},
                   {"protocol", p.protocol},
                   {"dport", p.dport},
                   {"comment", p.comment},
                   {"reason", p.reason}};
  if (!p.owner.empty()) j["owner"] = p.owner;
  return j;
}

Result<Policy> policy_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return failf(Errc::parse, "policy: not an object");
  Policy p;
  try {
    j.at("id").get_to(p.id);
    RAIND_TRY_ASSIGN(p.type, parse_type(j.at("type").get<std::string>()));
    j.at("source").get_to(p.source);
    j.at("destination").get_to(p.destination);
    p.protocol = j.value("protocol", std::string());
    // value<uint16_t>() would turn 70000, -1 or 1.5 into some port silently.
    if (auto dport = j.find("dport"); dport != j.end()) {
      if (!dport->is_number_integer() || *dport < 0 || *dport > 65535)
        return failf(Errc::parse, "policy: dport {} is not a port", dport->dump());
      p.dport = dport->get<std::uint16_t>();
    }
    p.comment = j.value("comment", std::string());
    p.reason = j.value("reason", std::string());
    p.owner = j.value("owner", std::string());
  } catch (const nlohmann::json::exception& e) {
    return failf(Errc::parse, "policy: {}", e.what());
  }
  RAIND_TRY(validate_policy(p));
  return p;
}

std::string serialize_document(const PolicyDocument& doc) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& p : doc.policies) list.push_back(to_json(p));
  return nlohmann::json{{"version", 1},
                        {"revision", doc.revision},
                        {"mode", mode_name(doc.mode)},
                        {"committed_unix", doc.committed_unix},
                        {"policies", std::move(list)}}
      .dump();
}

Result<PolicyDocument> parse_document(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("version") || j["version"] != 1)
    return failf(Errc::parse, "policy document: not a version 1 JSON object");
  PolicyDocument doc;
  // value() throws on a wrong type (a corrupt file must be an error, not an exception), and a
  // float would not convert to an integer without undefined behaviour.
  for (const char* key : {"revision", "committed_unix"})
    if (j.contains(key) && !j[key].is_number_integer())
      return failf(Errc::parse, "policy document: '{}' must be an integer", key);
  try {
    doc.revision = j.value("revision", std::uint64_t{0});
    RAIND_TRY_ASSIGN(doc.mode, parse_mode(j.value("mode", std::string("observe"))));
    doc.committed_unix = j.value("committed_unix", std::int64_t{0});
  } catch (const nlohmann::json::exception& e) {
    return failf(Errc::parse, "policy document: {}", e.what());
  }
  if (!j.contains("policies") || !j["policies"].is_array())
    return failf(Errc::parse, "policy document: 'policies' must be an array");
  for (const auto& item : j["policies"]) {
    RAIND_TRY_ASSIGN(auto p, policy_from_json(item));
    doc.policies.push_back(std::move(p));
  }
  return doc;
}

std::string_view status_name(PolicyStatus status) {
  switch (status) {
    case PolicyStatus::applied:
      return "applied";
    case PolicyStatus::pending_add:
      return "pending";
    case PolicyStatus::pending_remove:
      return "remove-next-commit";
    case PolicyStatus::unresolved:
      return "unresolved";
  }
  return "applied";
}

std::string_view status_flag(PolicyStatus status) {
  switch (status) {
    case PolicyStatus::applied:
      return "[*]";
    case PolicyStatus::pending_add:
      return "[+]";
    case PolicyStatus::pending_remove:
      return "[-]";
    case PolicyStatus::unresolved:
      return "[ ]";
  }
  return "[ ]";
}

std::vector<PolicyView> policy_views(
    const PolicyDocument& working, const PolicyDocument& committed,
    const std::vector<std::pair<std::string, std::string>>& unresolved) {
  std::map<std::string, std::string> why(unresolved.begin(), unresolved.end());
  std::map<std::string, const Policy*> in_committed;
  for (const auto& p : committed.policies) in_committed[p.id] = &p;
  std::vector<PolicyView> out;
  for (const auto& p : working.policies) {
    PolicyView v{p, PolicyStatus::pending_add, {}};
    if (auto it = in_committed.find(p.id); it != in_committed.end() && *it->second == p) {
      v.status = PolicyStatus::applied;
      if (auto u = why.find(p.id); u != why.end()) {
        v.status = PolicyStatus::unresolved;
        v.status_reason = u->second;
      }
    }
    out.push_back(std::move(v));
  }
  std::set<std::string> in_working;
  for (const auto& p : working.policies) in_working.insert(p.id);
  for (const auto& p : committed.policies)
    if (!in_working.contains(p.id)) out.push_back({p, PolicyStatus::pending_remove, {}});
  std::stable_sort(out.begin(), out.end(), [](const PolicyView& a, const PolicyView& b) {
    if (a.policy.type != b.policy.type) return a.policy.type < b.policy.type;
    return a.policy.id < b.policy.id;
  });
  return out;
}

}  // namespace raind::condenser::policy

// The policy API's bodies (POST /v1/policies, POST /v1/policies/ns/mode, decoded as the handlers
// do) and the policy documents condenserd keeps (condenser/policy/policy.cpp). Invariants: an
// accepted policy is valid and renders to JSON that reads back to the same policy with the
// same field values, and a document round-trips through serialize/parse.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "condenser/policy/policy.hpp"
#include "fuzz_check.hpp"
#include "route_bodies.hpp"

namespace policy = raind::condenser::policy;

namespace {

void check_policy_json(const nlohmann::json& j) {
  auto p = policy::policy_from_json(j);
  if (!p) return;
  RAIND_FUZZ_CHECK(policy::validate_policy(*p).has_value());
  nlohmann::json rendered = policy::to_json(*p);
  // What was read is what the document said (no silent narrowing of numbers).
  for (const char* key : {"id", "source", "destination", "protocol", "dport", "comment"})
    if (j.contains(key)) RAIND_FUZZ_CHECK(rendered[key] == j[key]);
  auto again = policy::policy_from_json(rendered);
  RAIND_FUZZ_CHECK(again.has_value() && *again == *p);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  (void)raind::fuzz::body_route("policy.add").decode(text);
  (void)raind::fuzz::body_route("policy.mode.change").decode(text);
  (void)policy::is_ipv4_or_cidr(text);
  if (auto type = policy::parse_type(text))
    RAIND_FUZZ_CHECK(policy::parse_type(policy::type_name(*type)) == *type);

  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded()) check_policy_json(j);

  if (auto doc = policy::parse_document(text)) {
    for (const auto& p : doc->policies) RAIND_FUZZ_CHECK(policy::validate_policy(p).has_value());
    std::string rendered = policy::serialize_document(*doc);
    auto again = policy::parse_document(rendered);
    RAIND_FUZZ_CHECK(again.has_value() && *again == *doc);
    // Every view of the working set against itself and against nothing.
    (void)policy::policy_views(*doc, *doc, {});
    (void)policy::policy_views(*doc, policy::PolicyDocument{}, {});
  }
  return 0;
}

// Bottle files (condenser/bottle/parse.cpp) from arbitrary text. Invariants for a file that
// parses: services in name order with their container names, a start order that lists every
// service once with its dependencies first, the stop order its reverse, every policy valid for
// the policy engine, and the JSON rendering well-formed.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "condenser/bottle/parse.hpp"
#include "fuzz_check.hpp"

namespace bottle = raind::condenser::bottle;
namespace policy = raind::condenser::policy;

namespace {

void check_bottle(const bottle::Bottle& b) {
  RAIND_FUZZ_CHECK(bottle::validate_bottle_name(b.name).has_value());
  RAIND_FUZZ_CHECK(std::is_sorted(b.services.begin(), b.services.end(),
                                  [](const auto& x, const auto& y) { return x.name < y.name; }));
  RAIND_FUZZ_CHECK(b.start_order.size() == b.services.size());
  for (const auto& s : b.services) {
    RAIND_FUZZ_CHECK(bottle::validate_service_name(s.name).has_value());
    RAIND_FUZZ_CHECK(s.container == bottle::container_name(b.name, s.name));
    RAIND_FUZZ_CHECK(!s.image.empty());
    RAIND_FUZZ_CHECK(b.find_service(s.name) == &s);
    auto at = std::find(b.start_order.begin(), b.start_order.end(), s.name);
    RAIND_FUZZ_CHECK(at != b.start_order.end());
    for (const auto& dep : s.depends_on) {
      RAIND_FUZZ_CHECK(dep.service != s.name && b.find_service(dep.service) != nullptr);
      auto dep_at = std::find(b.start_order.begin(), b.start_order.end(), dep.service);
      RAIND_FUZZ_CHECK(dep_at < at);
      RAIND_FUZZ_CHECK(s.depends_on_service(dep.service));
    }
  }
  RAIND_FUZZ_CHECK(std::equal(b.stop_order.begin(), b.stop_order.end(), b.start_order.rbegin(),
                              b.start_order.rend()));
  for (const auto& p : b.policies) {
    policy::Policy engine = p.to_policy("01kg2cnf0ytvq8h5m3n4p6r7s9", "bottle " + b.name);
    RAIND_FUZZ_CHECK(policy::validate_policy(engine).has_value());
  }
  std::string rendered = b.to_json().dump();
  RAIND_FUZZ_CHECK(nlohmann::json::accept(rendered));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto b = bottle::parse_bottle(text, "fuzz.yaml")) check_bottle(*b);
  // With a directory of existing containers: names that are not services get looked up.
  bottle::ParseOptions options;
  options.container_exists = [](std::string_view name) { return name.size() % 2 == 0; };
  if (auto b = bottle::parse_bottle(text, "fuzz.yaml", options)) check_bottle(*b);
  return 0;
}

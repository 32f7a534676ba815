// config.json, process.json (droplet exec) and the state document (hooks' stdin) from arbitrary
// text. Invariants: whatever parses renders to JSON that parses again to the same rendering
// (render ∘ parse is idempotent), and validation never throws.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_check.hpp"
#include "raind/oci/runtime_spec.hpp"

namespace oci = raind::oci;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  if (auto spec = oci::parse_spec(text)) {
    (void)oci::validate_spec(*spec, true);
    (void)oci::validate_spec(*spec, false);
    nlohmann::json rendered = oci::spec_to_json(*spec);
    auto again = oci::spec_from_json(rendered);
    RAIND_FUZZ_CHECK(again.has_value());
    RAIND_FUZZ_CHECK(oci::spec_to_json(*again) == rendered);
    // The text form too, as droplet writes and re-reads it.
    auto reparsed = oci::parse_spec(rendered.dump());
    RAIND_FUZZ_CHECK(reparsed.has_value());
    RAIND_FUZZ_CHECK(oci::spec_to_json(*reparsed) == rendered);
  }

  if (auto process = oci::parse_process(text)) {
    nlohmann::json rendered = oci::process_to_json(*process);
    auto again = oci::process_from_json(rendered);
    RAIND_FUZZ_CHECK(again.has_value());
    RAIND_FUZZ_CHECK(oci::process_to_json(*again) == rendered);
  }

  if (auto state = oci::parse_state(text)) {
    nlohmann::json rendered = oci::state_to_json(*state);
    auto again = oci::parse_state(rendered.dump());
    RAIND_FUZZ_CHECK(again.has_value());
    RAIND_FUZZ_CHECK(oci::state_to_json(*again) == rendered);
  }
  return 0;
}

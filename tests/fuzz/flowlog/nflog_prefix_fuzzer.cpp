// NFLOG prefixes (condenser/flowlog/prefix.cpp) from arbitrary text. Invariant: a prefix is
// well-formed exactly when it is RAIND-<EW|NS>-<ALLOW|DENY>,id=<1..64 of [A-Za-z0-9._:-]>, and
// then rebuilding it from the classification gives the same text.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "condenser/flowlog/prefix.hpp"
#include "fuzz_check.hpp"

namespace flowlog = raind::condenser::flowlog;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view prefix(reinterpret_cast<const char*>(data), size);
  const flowlog::PrefixInfo info = flowlog::classify_prefix(prefix);
  (void)flowlog::to_string(info.kind);
  (void)flowlog::to_string(info.verdict);
  (void)flowlog::to_string(info.source);
  if (!info.well_formed) {
    RAIND_FUZZ_CHECK(info.kind == flowlog::FlowKind::unknown);
    RAIND_FUZZ_CHECK(info.verdict == flowlog::Verdict::unknown);
    RAIND_FUZZ_CHECK(info.source == flowlog::PolicySource::unknown);
    RAIND_FUZZ_CHECK(info.policy_id.empty() && !info.host_guard);
    return 0;
  }
  RAIND_FUZZ_CHECK(info.kind != flowlog::FlowKind::unknown);
  RAIND_FUZZ_CHECK(info.verdict != flowlog::Verdict::unknown);
  RAIND_FUZZ_CHECK(!info.policy_id.empty() && info.policy_id.size() <= 64);
  // The id views the input's own bytes, at its end.
  RAIND_FUZZ_CHECK(info.policy_id.data() + info.policy_id.size() == prefix.data() + prefix.size());
  std::string rebuilt = "RAIND-";
  rebuilt += info.kind == flowlog::FlowKind::east_west ? "EW-" : "NS-";
  rebuilt += info.verdict == flowlog::Verdict::allow ? "ALLOW," : "DENY,";
  rebuilt += "id=";
  rebuilt += info.policy_id;
  RAIND_FUZZ_CHECK(rebuilt == prefix);
  RAIND_FUZZ_CHECK(info.host_guard == (info.policy_id == "host"));
  RAIND_FUZZ_CHECK((info.source == flowlog::PolicySource::predefined) ==
                   (info.policy_id == "predefined" || info.policy_id == "host"));
  return 0;
}

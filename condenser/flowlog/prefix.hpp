#pragma once
// NFLOG prefix → what the rule was. The policy compiler emits exactly
//   RAIND-<EW|NS>-<ALLOW|DENY>,id=<policy id | predefined | host>
// and the enricher parses that structurally, all or nothing. Upstream matched substrings of the
// whole upper-cased prefix (so an NS prefix whose id contained "EW" came out east-west) and
// indexed past a missing comma (a crash); neither is possible here.
#include <string_view>

namespace raind::condenser::flowlog {

enum class FlowKind { unknown, east_west, north_south };
enum class Verdict { unknown, allow, deny };
// predefined: the built-in rules (id=predefined, and id=host, the container→host guard).
enum class PolicySource { unknown, predefined, user };

struct PrefixInfo {
  FlowKind kind = FlowKind::unknown;
  Verdict verdict = Verdict::unknown;
  PolicySource source = PolicySource::unknown;
  std::string_view policy_id;  // into the classified text; empty unless well_formed
  bool host_guard = false;     // id=host: a container talking to the host itself
  bool well_formed = false;    // the whole prefix matched the grammar
};

// Never fails: anything off-grammar comes back with kind/verdict/source unknown and
// well_formed false (the caller counts it). Ids are 1…64 characters of [A-Za-z0-9._:-].
PrefixInfo classify_prefix(std::string_view prefix) noexcept;

std::string_view to_string(FlowKind kind) noexcept;        // east-west | north-south | unknown
std::string_view to_string(Verdict verdict) noexcept;      // allow | deny | unknown
std::string_view to_string(PolicySource source) noexcept;  // predefined | user | unknown

}  // namespace raind::condenser::flowlog

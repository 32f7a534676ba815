#pragma once
// One ulogd JSON record → one enriched netflow record (UPSTREAM.md §7.3), as a JSON line.
// Pure: the caller supplies the identity snapshot, the receive time and the zone. The input is
// validated and read by a strict single-pass scanner (json_scan.hpp) that keeps only the dozen
// keys used, and the output is built directly into a string (no DOM either way).
#include <chrono>
#include <cstddef>
#include <expected>
#include <string>
#include <string_view>

#include "condenser/flowlog/timestamp.hpp"
#include "condenser/identity/identity.hpp"

namespace raind::condenser::flowlog {

enum class Rejection {
  oversized,       // longer than EnrichOptions::max_line
  malformed_json,  // not JSON (or trailing garbage, or empty)
  not_object,      // JSON, but not an object
  missing_fields,  // no string `oob.prefix` or no non-negative integer `oob.time.sec`
};
std::string_view to_string(Rejection rejection) noexcept;

struct EnrichOptions {
  std::size_t max_line = 64 * 1024;
};

struct EnrichResult {
  bool prefix_well_formed = false;  // false: kind/verdict "unknown" (count it)
};

// Appends the enriched record (no trailing newline) to `out`. On rejection `out` is left as it
// was. Source/destination: `container` when the IP maps to a container in the snapshot;
// `host` for the destination of an `id=host` record (the container→host guard) that is not a
// container; `container_unresolved` when the IP lies in a container network but is unmapped
// (sets `unresolved` and `reason`); `external` otherwise; `unknown` when the record has no IP.
std::expected<EnrichResult, Rejection> enrich_into(std::string& out, std::string_view ulogd_line,
                                                   const identity::Snapshot& snapshot,
                                                   std::chrono::system_clock::time_point received,
                                                   const Zone& zone,
                                                   const EnrichOptions& options = {});

struct Enriched {
  std::string line;
  bool prefix_well_formed = false;
};
std::expected<Enriched, Rejection> enrich(std::string_view ulogd_line,
                                          const identity::Snapshot& snapshot,
                                          std::chrono::system_clock::time_point received,
                                          const Zone& zone, const EnrichOptions& options = {});

// "TCP", "UDP", "ICMP", "ICMPV6", "UNKNOWN" (0), else "IPPROTO_<n>".
std::string proto_name(unsigned protocol);
// Appends `text` as a JSON string literal (quotes included; control characters, quotes,
// backslashes and invalid UTF-8 bytes escaped so the output line is always valid JSON).
void append_json_string(std::string& out, std::string_view text);

}  // namespace raind::condenser::flowlog

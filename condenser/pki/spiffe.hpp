#pragma once
// SPIFFE IDs (spiffe://<trust-domain>/<segment>/...), parsed per the SPIFFE-ID spec: lower-case
// scheme, trust domain of [a-z0-9.-_], non-empty path segments of [a-zA-Z0-9.-_] that are not "."
// or "..", no query, fragment, port, user info, percent-encoding or trailing slash.
#include <string>
#include <string_view>
#include <vector>

#include "raind/error.hpp"

namespace raind::condenser {

inline constexpr std::string_view kTrustDomain = "raind";

struct SpiffeId {
  std::string trust_domain;
  std::vector<std::string> segments;

  std::string str() const;
  // Segment i or "" when absent.
  std::string_view segment(std::size_t i) const {
    return i < segments.size() ? std::string_view(segments[i]) : std::string_view();
  }
};

Result<SpiffeId> parse_spiffe_id(std::string_view uri);
// Container/CLI ids inside Raind SPIFFE IDs: [a-z0-9-]+ (also used for the CSR check).
bool is_raind_id_segment(std::string_view text);

}  // namespace raind::condenser

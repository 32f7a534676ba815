#include "condenser/pki/spiffe.hpp"

#include <algorithm>

namespace raind::condenser {
namespace {

bool td_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}
bool path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

}  // namespace

std::string SpiffeId::str() const {
  std::string out = "spiffe://" + trust_domain;
  for (const auto& s : segments) out += "/" + s;
  return out;
}

bool is_raind_id_segment(std::string_view text) {
  return !text.empty() && text.size() <= 128 && std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

Result<SpiffeId> parse_spiffe_id(std::string_view uri) {
  constexpr std::string_view kScheme = "spiffe://";
  if (uri.size() > 2048) return fail(Errc::invalid_argument, "spiffe id is too long");
  if (!uri.starts_with(kScheme))
    return failf(Errc::invalid_argument, "uri '{}' is not a spiffe id (scheme must be spiffe)",
                 uri);
  std::string_view rest = uri.substr(kScheme.size());
  const auto slash = rest.find('/');
  std::string_view td = rest.substr(0, slash);
  if (td.empty()) return failf(Errc::invalid_argument, "spiffe id '{}' has no trust domain", uri);
  if (!std::all_of(td.begin(), td.end(), td_char))
    return failf(Errc::invalid_argument,
                 "spiffe id '{}' has an invalid trust domain (port, user info or bad character)",
                 uri);
  SpiffeId id;
  id.trust_domain = std::string(td);
  if (slash == std::string_view::npos) return id;
  std::string_view path = rest.substr(slash);  // starts with '/'
  while (!path.empty()) {
    path.remove_prefix(1);
    const auto next = path.find('/');
    std::string_view seg = path.substr(0, next);
    if (seg.empty())
      return failf(Errc::invalid_argument, "spiffe id '{}' has an empty path segment", uri);
    if (seg == "." || seg == "..")
      return failf(Errc::invalid_argument, "spiffe id '{}' has a relative path segment", uri);
    if (!std::all_of(seg.begin(), seg.end(), path_char))
      return failf(Errc::invalid_argument,
                   "spiffe id '{}' has an invalid character in path segment '{}'", uri, seg);
    id.segments.emplace_back(seg);
    path = next == std::string_view::npos ? std::string_view() : path.substr(next);
  }
  return id;
}

}  // namespace raind::condenser

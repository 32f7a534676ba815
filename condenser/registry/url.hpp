#pragma once
// Absolute http(s) URLs as a registry client needs them: token realms, redirect targets
// (Location may be relative), and query strings built from user data. Pure functions.
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "raind/error.hpp"

namespace raind::condenser::registry {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without IPv6 brackets
  std::string port;    // always set: explicit, else 80/443
  std::string target;  // path and query, starts with '/'

  bool is_default_port() const { return port == (scheme == "https" ? "443" : "80"); }
  // host[:port] with the port only when not the scheme's default (the Host header).
  std::string authority() const;
  // scheme://authority: connections are pooled and credentials scoped by origin.
  std::string origin() const { return scheme + "://" + authority(); }
  std::string to_string() const { return origin() + target; }
};

// Errc::invalid_argument for anything but an absolute http/https URL with a host.
Result<Url> parse_url(std::string_view text);
// Location header semantics: absolute URL, "//host/…", "/path", or a path relative to base.
Result<Url> resolve_url(const Url& base, std::string_view location);
// RFC 3986 unreserved characters pass, everything else is %XX.
std::string percent_encode(std::string_view text);
// "?k=v&k2=v2" appended to target (with '&' if target already has a query).
std::string with_query(std::string target,
                       const std::vector<std::pair<std::string, std::string>>& params);

}  // namespace raind::condenser::registry

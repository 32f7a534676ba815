#pragma once
// Method + path-pattern router. Patterns are literal segments and {name} parameters
// ("/v1/containers/{id}/actions/start"). Each route carries its audit action and severity, and
// an optional body limit, so authorisation, limits and auditing happen before the handler runs.
#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "condenser/api/types.hpp"

namespace raind::condenser::api {

// The percent-decoded value of `name` in a raw query string ("a=1&b"); "" for a bare "b".
std::optional<std::string> query_value(std::string_view query, std::string_view name);
// "all", "all=1" and "all=true" are set; anything else, or absent, is not.
bool query_flag(std::string_view query, std::string_view name);

using Handler = std::function<boost::asio::awaitable<ApiResponse>(ApiRequest&)>;

struct Route {
  std::string method;
  std::string pattern;
  std::string action;  // audit action, e.g. "system.info"
  Severity severity = Severity::information;
  std::uint64_t body_limit = 0;  // 0: the listener default
  Handler handler;
  std::vector<std::string> segments;  // split pattern
};

enum class MatchKind { found, not_found, method_not_allowed };

struct Match {
  MatchKind kind = MatchKind::not_found;
  const Route* route = nullptr;
  std::map<std::string, std::string> params;
  std::vector<std::string> allowed;  // for 405
};

class Router {
 public:
  Router& add(std::string method, std::string pattern, std::string action, Severity severity,
              Handler handler, std::uint64_t body_limit = 0);
  Match match(std::string_view method, std::string_view path) const;
  const std::vector<Route>& routes() const { return routes_; }
  // Largest body any route accepts (the parser limit before the route is known).
  std::uint64_t max_body_limit(std::uint64_t default_limit) const;

 private:
  std::vector<Route> routes_;
};

// Splits "/a/b/c" into {"a","b","c"}; false for paths that are not absolute or contain empty,
// "." or ".." segments (no normalisation: such paths simply do not match).
bool split_path(std::string_view path, std::vector<std::string_view>& out);

}  // namespace raind::condenser::api

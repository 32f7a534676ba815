#include "condenser/api/router.hpp"

#include <algorithm>

namespace raind::condenser::api {

namespace {
// A parameter segment may carry '/', ':' or '@' percent-encoded (image references); a
// malformed escape is kept literally, so it simply matches nothing.
std::string percent_decode(std::string_view in) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
      i += 2;
    } else {
      out.push_back(in[i]);
    }
  }
  return out;
}
}  // namespace

std::optional<std::string> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto item = query.substr(0, amp);
    auto eq = item.find('=');
    if (item.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string() : percent_decode(item.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool query_flag(std::string_view query, std::string_view name) {
  auto value = query_value(query, name);
  return value && (value->empty() || *value == "1" || *value == "true");
}

bool split_path(std::string_view path, std::vector<std::string_view>& out) {
  out.clear();
  if (path.empty() || path.front() != '/') return false;
  if (path == "/") return true;
  path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    auto seg = path.substr(0, slash);
    if (seg.empty() || seg == "." || seg == "..") return false;
    out.push_back(seg);
    if (slash == std::string_view::npos) return true;
    path.remove_prefix(slash + 1);
  }
}

Router& Router::add(std::string method, std::string pattern, std::string action, Severity severity,
                    Handler handler, std::uint64_t body_limit) {
  Route route{std::move(method),
              std::move(pattern),
              std::move(action),
              severity,
              body_limit,
              std::move(handler),
              {}};
  std::vector<std::string_view> segs;
  split_path(route.pattern, segs);
  for (auto s : segs) route.segments.emplace_back(s);
  routes_.push_back(std::move(route));
  return *this;
}

Match Router::match(std::string_view method, std::string_view path) const {
  Match out;
  std::vector<std::string_view> segs;
  if (!split_path(path, segs)) return out;
  // Literal segments win over parameters so "/v1/policies/commit" beats "/v1/policies/{id}".
  int best_score = -1;
  for (const auto& route : routes_) {
    if (route.segments.size() != segs.size()) continue;
    std::map<std::string, std::string> params;
    int score = 0;
    bool matched = true;
    for (std::size_t i = 0; i < segs.size(); ++i) {
      const auto& pat = route.segments[i];
      if (pat.size() > 2 && pat.front() == '{' && pat.back() == '}') {
        params[pat.substr(1, pat.size() - 2)] = percent_decode(segs[i]);
      } else if (pat == segs[i]) {
        score += 1 << (segs.size() - i);
      } else {
        matched = false;
        break;
      }
    }
    if (!matched) continue;
    if (route.method != method) {
      if (std::find(out.allowed.begin(), out.allowed.end(), route.method) == out.allowed.end())
        out.allowed.push_back(route.method);
      continue;
    }
    if (score > best_score) {
      best_score = score;
      out.kind = MatchKind::found;
      out.route = &route;
      out.params = std::move(params);
    }
  }
  if (out.kind != MatchKind::found && !out.allowed.empty())
    out.kind = MatchKind::method_not_allowed;
  return out;
}

std::uint64_t Router::max_body_limit(std::uint64_t default_limit) const {
  std::uint64_t out = default_limit;
  for (const auto& r : routes_) out = std::max(out, r.body_limit);
  return out;
}

}  // namespace raind::condenser::api

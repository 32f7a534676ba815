#include "condenser/registry/url.hpp"

#include <algorithm>
#include <cctype>

namespace raind::condenser::registry {

std::string Url::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return is_default_port() ? h : h + ":" + port;
}

Result<Url> parse_url(std::string_view text) {
  Url url;
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos)
    return failf(Errc::invalid_argument, "URL '{}' is not absolute", text);
  url.scheme = std::string(text.substr(0, scheme_end));
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (url.scheme != "http" && url.scheme != "https")
    return failf(Errc::invalid_argument, "URL '{}': scheme must be http or https", text);
  std::string_view rest = text.substr(scheme_end + 3);
  auto path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  std::string_view path =
      path_start == std::string_view::npos ? std::string_view("/") : rest.substr(path_start);
  if (auto fragment = path.find('#'); fragment != std::string_view::npos)
    path = path.substr(0, fragment);
  if (authority.find('@') != std::string_view::npos)
    return failf(Errc::invalid_argument, "URL '{}': credentials in URLs are not accepted", text);
  std::string_view host = authority, port;
  if (authority.starts_with('[')) {
    auto close = authority.find(']');
    if (close == std::string_view::npos)
      return failf(Errc::invalid_argument, "URL '{}': unterminated IPv6 address", text);
    host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return failf(Errc::invalid_argument, "URL '{}': bad host", text);
      port = after.substr(1);
    }
  } else if (auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return failf(Errc::invalid_argument, "URL '{}' has no host", text);
  if (!port.empty()) {
    if (port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) ||
        std::stoul(std::string(port)) > 65535 || std::stoul(std::string(port)) == 0)
      return failf(Errc::invalid_argument, "URL '{}' has an invalid port", text);
  }
  url.host = std::string(host);
  url.port = port.empty() ? (url.scheme == "https" ? "443" : "80") : std::string(port);
  url.target = path.starts_with('/') ? std::string(path) : "/" + std::string(path);
  return url;
}

Result<Url> resolve_url(const Url& base, std::string_view location) {
  if (location.empty()) return failf(Errc::invalid_argument, "empty redirect location");
  if (location.find("://") != std::string_view::npos) return parse_url(location);
  if (location.starts_with("//")) return parse_url(base.scheme + ":" + std::string(location));
  Url out = base;
  if (location.starts_with('/')) {
    out.target = std::string(location);
  } else {
    std::string dir = base.target.substr(0, base.target.find('?'));
    dir = dir.substr(0, dir.rfind('/') + 1);
    out.target = dir + std::string(location);
  }
  return out;
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string with_query(std::string target,
                       const std::vector<std::pair<std::string, std::string>>& params) {
  char sep = target.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [key, value] : params) {
    target += sep;
    target += percent_encode(key) + "=" + percent_encode(value);
    sep = '&';
  }
  return target;
}

}  // namespace raind::condenser::registry

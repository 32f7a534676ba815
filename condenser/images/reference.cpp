#include "condenser/images/reference.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <vector>

namespace raind::condenser::images {
namespace {

constexpr std::size_t kMaxNameLength = 255;
constexpr std::size_t kMaxTagLength = 128;

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}
bool is_hex_lower(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}
bool has_upper(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return std::isupper(static_cast<unsigned char>(c)) != 0; });
}

// [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*  — the distribution spec's path-component grammar.
bool valid_path_component(std::string_view c) {
  std::size_t i = 0;
  auto alnum_run = [&] {
    std::size_t start = i;
    while (i < c.size() && is_lower_alnum(c[i])) ++i;
    return i > start;
  };
  if (!alnum_run()) return false;
  while (i < c.size()) {
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (!alnum_run()) return false;
  }
  return true;
}

// [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}
bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > kMaxTagLength) return false;
  if (!is_alnum(t[0]) && t[0] != '_') return false;
  return std::all_of(t.begin(), t.end(),
                     [](char c) { return is_alnum(c) || c == '_' || c == '.' || c == '-'; });
}

bool valid_host_label(std::string_view label) {
  if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
  return std::all_of(label.begin(), label.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

// host[:port] where host is dotted labels or a bracketed IPv6 literal.
bool valid_registry(std::string_view reg) {
  std::string_view host = reg;
  std::string_view port;
  if (!reg.empty() && reg.front() == '[') {
    auto close = reg.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    auto inside = reg.substr(1, close - 1);
    if (!std::all_of(inside.begin(), inside.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) != 0 || c == ':' || c == '.';
        }))
      return false;
    host = {};
    auto rest = reg.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return false;
      port = rest.substr(1);
      if (port.empty()) return false;
    }
  } else {
    auto colon = reg.rfind(':');
    if (colon != std::string_view::npos) {
      host = reg.substr(0, colon);
      port = reg.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty()) return false;
    std::size_t start = 0;
    while (true) {
      auto dot = host.find('.', start);
      if (!valid_host_label(host.substr(start, dot - start))) return false;
      if (dot == std::string_view::npos) break;
      start = dot + 1;
    }
  }
  if (!port.empty()) {
    if (port.size() > 5) return false;
    unsigned value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535)
      return false;
  }
  return true;
}

bool is_docker_hub(std::string_view reg) {
  return reg == "docker.io" || reg == "index.docker.io" || reg == kDockerHubRegistry;
}

}  // namespace

bool is_sha256_digest(std::string_view digest) {
  constexpr std::string_view kPrefix = "sha256:";
  if (!digest.starts_with(kPrefix) || digest.size() != kPrefix.size() + 64) return false;
  auto hex = digest.substr(kPrefix.size());
  return std::all_of(hex.begin(), hex.end(), is_hex_lower);
}

Result<Reference> parse_reference(std::string_view text) {
  if (text.empty()) return fail(Errc::invalid_argument, "empty image reference");
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
      return failf(Errc::invalid_argument, "invalid image reference '{}': contains whitespace",
                   text);
  }
  auto bad = [&](std::string_view why) {
    return failf(Errc::invalid_argument, "invalid image reference '{}': {}", text, why);
  };

  Reference ref;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    auto digest = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (digest.find(':') == std::string_view::npos)
      return bad(fmt::format("digest '{}' has no algorithm (expected sha256:<64 hex>)", digest));
    if (!digest.starts_with("sha256:"))
      return bad(fmt::format("unsupported digest algorithm in '{}' (only sha256)", digest));
    if (!is_sha256_digest(digest))
      return bad(fmt::format("digest '{}' is not sha256 followed by 64 lower-case hex", digest));
    ref.digest = std::string(digest);
  }

  // The tag is after the last ':' that has no '/' behind it ("localhost:5000/x" has no tag).
  auto last_slash = rest.rfind('/');
  auto colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      (last_slash == std::string_view::npos || colon > last_slash)) {
    auto tag = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
    if (tag.empty()) return bad("empty tag after ':'");
    if (!valid_tag(tag))
      return bad(
          fmt::format("invalid tag '{}' (letters, digits, '_', '.', '-', at most 128, "
                      "not starting with '.' or '-')",
                      tag));
    ref.tag = std::string(tag);
  }
  if (rest.empty()) return bad("empty repository name");

  // A first component is a registry if it looks like a host: has '.', ':', is "localhost", or
  // has upper-case letters (repository paths never do) — the docker CLI's rule.
  std::string_view path = rest;
  auto first_slash = rest.find('/');
  if (first_slash != std::string_view::npos) {
    auto first = rest.substr(0, first_slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
        has_upper(first)) {
      if (!valid_registry(first)) return bad(fmt::format("invalid registry '{}'", first));
      ref.registry = std::string(first);
      path = rest.substr(first_slash + 1);
    }
  }
  if (path.empty()) return bad("empty repository name");

  std::vector<std::string_view> components;
  std::size_t start = 0;
  while (true) {
    auto slash = path.find('/', start);
    components.push_back(path.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  for (auto c : components) {
    if (c.empty()) return bad("empty repository component (\"//\" or trailing '/')");
    if (has_upper(c)) return bad(fmt::format("repository component '{}' must be lower-case", c));
    if (!valid_path_component(c))
      return bad(
          fmt::format("invalid repository component '{}' (lower-case letters and digits "
                      "separated by '.', '_', '__' or '-')",
                      c));
  }
  if (ref.registry.empty() && components.size() == 1 && path.size() == 64 &&
      std::all_of(path.begin(), path.end(), is_hex_lower))
    return bad("a 64-character hex name is an image id, not a repository");

  if (ref.registry.empty() || is_docker_hub(ref.registry)) {
    ref.registry = std::string(kDockerHubRegistry);
    ref.repository = components.size() == 1 ? "library/" + std::string(path) : std::string(path);
  } else {
    ref.repository = std::string(path);
  }
  if (ref.registry.size() + 1 + ref.repository.size() > kMaxNameLength)
    return bad(fmt::format("name longer than {} characters", kMaxNameLength));
  if (ref.tag.empty() && ref.digest.empty()) ref.tag = std::string(kDefaultTag);
  return ref;
}

std::string Reference::to_string() const {
  std::string out = registry + "/" + repository;
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string Reference::familiar() const {
  std::string out;
  if (registry == kDockerHubRegistry) {
    std::string_view repo = repository;
    // "library/" stays on a 64-hex name, which alone would read back as an image id.
    bool id_like = repo.size() == 8 + 64 && std::all_of(repo.begin() + 8, repo.end(), is_hex_lower);
    if (repo.starts_with("library/") && repo.find('/', 8) == std::string_view::npos && !id_like)
      repo.remove_prefix(8);
    // A first component that looks like a host ("li.io/a/b") would read back as a registry.
    auto slash = repo.find('/');
    auto first = repo.substr(0, slash);
    bool host_like = first.find('.') != std::string_view::npos || first == "localhost";
    out = slash != std::string_view::npos && host_like ? "docker.io/" + std::string(repo)
                                                       : std::string(repo);
  } else {
    out = registry + "/" + repository;
  }
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

}  // namespace raind::condenser::images

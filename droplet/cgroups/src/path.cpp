// Pure helpers: cgroupsPath resolution and parsing of cgroupfs file formats.
#include <charconv>
#include <sstream>

#include <fmt/format.h>

#include "cgroups_internal.hpp"

namespace raind::cgroups {
namespace {

std::string join(const std::string& a, const std::string& b) {
  std::string out = a;
  while (!out.empty() && out.back() == '/') out.pop_back();
  std::string tail = b;
  while (!tail.empty() && tail.front() == '/') tail.erase(tail.begin());
  if (tail.empty()) return out.empty() ? "/" : out;
  return out + "/" + tail;
}

Status check_components(const std::string& path) {
  std::istringstream in(path);
  for (std::string part; std::getline(in, part, '/');) {
    if (part == "..") return failf(Errc::invalid_argument, "cgroupsPath {:?} contains '..'", path);
  }
  return ok();
}

}  // namespace

Result<std::string> resolve_cgroup_path(const std::string& cgroups_path,
                                        const std::string& own_path,
                                        const std::string& container_id) {
  std::string path = cgroups_path;
  if (path.empty()) return join(join(own_path, "droplet"), container_id);
  // systemd-style "slice:prefix:name" (runc --systemd-cgroup); mapped onto plain directories.
  if (path.front() != '/' && std::count(path.begin(), path.end(), ':') == 2) {
    auto first = path.find(':');
    auto second = path.find(':', first + 1);
    std::string slice = path.substr(0, first);
    std::string prefix = path.substr(first + 1, second - first - 1);
    std::string name = path.substr(second + 1);
    if (slice.empty()) slice = "system.slice";
    std::string unit = prefix.empty() ? name + ".scope" : prefix + "-" + name + ".scope";
    RAIND_TRY(check_components(slice + "/" + unit));
    return join(join("/", slice), unit);
  }
  RAIND_TRY(check_components(path));
  if (path.front() == '/') return join("/", path);
  return join(own_path, path);
}

std::map<std::string, std::uint64_t> parse_flat_keyed(std::string_view text) {
  std::map<std::string, std::uint64_t> out;
  std::istringstream in{std::string(text)};
  std::string key, value;
  while (in >> key >> value) out[key] = parse_u64_or_max(value);
  return out;
}

std::uint64_t parse_u64_or_max(std::string_view text, std::uint64_t max_value) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text == "max") return max_value;
  std::uint64_t v = 0;
  std::from_chars(text.data(), text.data() + text.size(), v);
  return v;
}

}  // namespace raind::cgroups

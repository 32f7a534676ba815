#include "condenser/containers/volume_spec.hpp"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <memory>

#include <fmt/core.h>

namespace raind::condenser::containers {
namespace {

// `inner` is `outer` or lies below it, judged by whole components ("/etcx" is not under "/etc").
bool is_within(std::string_view inner, std::string_view outer) {
  if (outer == "/") return true;
  if (!inner.starts_with(outer)) return false;
  return inner.size() == outer.size() || inner[outer.size()] == '/';
}

}  // namespace

Result<VolumeRequest> parse_volume_spec(std::string_view text) {
  if (text.find('\0') != std::string_view::npos)
    return fail(Errc::invalid_argument, "volume spec contains a NUL byte");
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    auto pos = text.find(':', start);
    parts.push_back(text.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  if (parts.size() < 2 || parts.size() > 3)
    return failf(Errc::invalid_argument,
                 "volume \"{}\": expected host-path:container-path[:ro|rw] (paths must not "
                 "contain ':')",
                 text);
  VolumeRequest request{std::string(parts[0]), std::string(parts[1]), false};
  if (request.source.empty())
    return failf(Errc::invalid_argument, "volume \"{}\": host path is empty", text);
  if (request.destination.empty())
    return failf(Errc::invalid_argument, "volume \"{}\": container path is empty", text);
  if (parts.size() == 3) {
    if (parts[2] == "ro") {
      request.read_only = true;
    } else if (parts[2] != "rw") {
      return failf(Errc::invalid_argument, "volume \"{}\": unknown mode \"{}\" (use ro or rw)",
                   text, parts[2]);
    }
  }
  return request;
}

Result<std::string> resolve_real_path(const std::string& path) {
  std::unique_ptr<char, decltype(&std::free)> resolved(::realpath(path.c_str(), nullptr),
                                                       &std::free);
  if (!resolved) return fail_errno(fmt::format("resolve {}", path));
  return std::string(resolved.get());
}

oci::Mount Volume::to_mount() const {
  oci::Mount m;
  m.destination = destination;
  m.type = "bind";
  m.source = source;
  m.options = {"rbind", "rprivate", "nosuid", "nodev"};
  if (read_only) m.options.push_back("ro");
  return m;
}

Result<std::string> normalize_container_path(std::string_view path) {
  if (path.empty() || path.front() != '/')
    return failf(Errc::invalid_argument, "container path \"{}\" is not absolute", path);
  std::string out;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part == "..")
      return failf(Errc::invalid_argument, "container path \"{}\" contains \"..\"", path);
    if (!part.empty() && part != ".") {
      out += '/';
      out += part;
    }
    start = end + 1;
  }
  if (out.empty())
    return failf(Errc::invalid_argument, "container path \"{}\" is the root directory", path);
  return out;
}

Result<Volume> check_volume(const VolumeRequest& request, const VolumeGuard& guard) {
  const std::string& source = request.source;
  if (source.front() != '/')
    return failf(Errc::invalid_argument, "volume source \"{}\" is not an absolute path", source);
  auto resolved = guard.resolve(source);
  if (!resolved) {
    if (resolved.error().code() == Errc::not_found)
      return failf(Errc::invalid_argument, "volume source \"{}\" does not exist", source);
    return std::unexpected(std::move(resolved.error()).context("check volume source"));
  }
  const std::string& real = *resolved;
  const std::string shown = real == source ? fmt::format("\"{}\"", source)
                                           : fmt::format("\"{}\" (-> \"{}\")", source, real);
  if (real == "/")
    return failf(Errc::permission_denied, "volume source {} is the host's root directory", shown);
  for (const auto& denied : guard.denied_sources) {
    // Compare against the denied path as given and as resolved: /var/run may be a link to /run.
    std::vector<std::string> forms{denied};
    if (auto r = guard.resolve(denied); r && *r != denied) forms.push_back(*r);
    for (const auto& form : forms) {
      if (is_within(real, form))
        return failf(Errc::permission_denied, "volume source {} is inside protected \"{}\"", shown,
                     denied);
      if (is_within(form, real))
        return failf(Errc::permission_denied, "volume source {} contains protected \"{}\"", shown,
                     denied);
    }
  }
  RAIND_TRY_ASSIGN(std::string destination, normalize_container_path(request.destination));
  for (const auto& denied : guard.denied_destinations)
    if (is_within(destination, denied))
      return failf(Errc::permission_denied, "volume destination \"{}\" is inside \"{}\"",
                   destination, denied);
  return Volume{real, destination, request.read_only};
}

Result<std::vector<Volume>> parse_volumes(const std::vector<std::string>& texts,
                                          const VolumeGuard& guard) {
  std::vector<Volume> volumes;
  for (const auto& text : texts) {
    RAIND_TRY_ASSIGN(VolumeRequest request, parse_volume_spec(text));
    RAIND_TRY_ASSIGN(Volume volume, check_volume(request, guard));
    for (const auto& other : volumes)
      if (other.destination == volume.destination)
        return failf(Errc::invalid_argument, "volume \"{}\": destination \"{}\" is used twice",
                     text, volume.destination);
    volumes.push_back(std::move(volume));
  }
  return volumes;
}

}  // namespace raind::condenser::containers

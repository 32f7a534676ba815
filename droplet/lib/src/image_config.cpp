#include "raind/droplet/image_config.hpp"

#include <sys/stat.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace raind::droplet {
namespace {

Result<std::string> absolute_dir_field(const nlohmann::json& value, const std::string& where) {
  if (!value.is_string()) return failf(Errc::invalid_argument, "{}: expected a string", where);
  auto path = value.get<std::string>();
  if (path.empty() || path.front() != '/')
    return failf(Errc::invalid_argument, "{}: \"{}\" is not an absolute path", where, path);
  if (path.find_first_of(",:\n") != std::string::npos)
    return failf(Errc::invalid_argument, "{}: \"{}\" contains ',' or ':' (overlay separators)",
                 where, path);
  return path;
}

}  // namespace

Result<OverlayConfig> parse_image_config(std::string_view json_text) {
  const std::string root(kImageAnnotation);
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json_text.begin(), json_text.end());
  } catch (const nlohmann::json::parse_error& e) {
    return failf(Errc::parse, "{}: invalid JSON at byte {}", root, e.byte);
  } catch (const nlohmann::json::out_of_range& e) {  // a number beyond double's range (1e999)
    return failf(Errc::parse, "{}: invalid JSON: {}", root, e.what());
  }
  if (!doc.is_object()) return failf(Errc::invalid_argument, "{}: expected an object", root);
  auto type = doc.find("rootfsType");
  if (type == doc.end() || !type->is_string())
    return failf(Errc::invalid_argument, "{}.rootfsType: required string", root);
  if (*type != "overlay")
    return failf(Errc::unsupported, "{}.rootfsType: \"{}\" is not supported (only \"overlay\")",
                 root, type->get<std::string>());
  OverlayConfig cfg;
  auto layers = doc.find("imageLayer");
  if (layers == doc.end() || !layers->is_array() || layers->empty())
    return failf(Errc::invalid_argument, "{}.imageLayer: required non-empty array", root);
  if (layers->size() > kMaxOverlayLayers)
    return failf(Errc::invalid_argument, "{}.imageLayer: {} layers, the kernel allows {}", root,
                 layers->size(), kMaxOverlayLayers);
  for (std::size_t i = 0; i < layers->size(); ++i) {
    RAIND_TRY_ASSIGN(auto dir,
                     absolute_dir_field((*layers)[i], fmt::format("{}.imageLayer[{}]", root, i)));
    cfg.lower_dirs.push_back(std::move(dir));
  }
  for (auto [key, out] : {std::pair{"upperDir", &cfg.upper_dir}, {"workDir", &cfg.work_dir}}) {
    auto it = doc.find(key);
    if (it == doc.end()) return failf(Errc::invalid_argument, "{}.{}: required", root, key);
    RAIND_TRY_ASSIGN(*out, absolute_dir_field(*it, fmt::format("{}.{}", root, key)));
  }
  return cfg;
}

Status check_overlay_dirs(const OverlayConfig& config) {
  auto check = [](const std::string& dir, std::string_view what) -> Status {
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
      return fail_errno(fmt::format("{}: {} \"{}\"", kImageAnnotation, what, dir));
    if (!S_ISDIR(st.st_mode))
      return failf(Errc::invalid_argument, "{}: {} \"{}\" is not a directory", kImageAnnotation,
                   what, dir);
    return ok();
  };
  for (const auto& d : config.lower_dirs) RAIND_TRY(check(d, "layer directory"));
  RAIND_TRY(check(config.upper_dir, "upper directory"));
  RAIND_TRY(check(config.work_dir, "work directory"));
  return ok();
}

}  // namespace raind::droplet

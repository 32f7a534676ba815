#include "condenser/containers/image_config.hpp"

#include <fmt/core.h>

namespace raind::condenser::containers {
namespace {

using json = nlohmann::json;

Status read_strings(const json& config, const char* key, std::vector<std::string>& out) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return ok();
  if (!it->is_array())
    return failf(Errc::parse, "image config: config.{}: expected an array of strings", key);
  for (const auto& item : *it) {
    if (!item.is_string())
      return failf(Errc::parse, "image config: config.{}: expected an array of strings", key);
    out.push_back(item.get<std::string>());
  }
  return ok();
}

Status read_string(const json& config, const char* key, std::string& out) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) return ok();
  if (!it->is_string())
    return failf(Errc::parse, "image config: config.{}: expected a string", key);
  out = it->get<std::string>();
  return ok();
}

}  // namespace

Result<ImageConfig> image_config_from_json(const json& document) {
  if (!document.is_object()) return fail(Errc::parse, "image config: expected an object");
  ImageConfig image;
  auto config = document.find("config");
  if (config == document.end() || config->is_null()) return image;
  if (!config->is_object()) return fail(Errc::parse, "image config: config: expected an object");
  RAIND_TRY(read_strings(*config, "Env", image.env));
  RAIND_TRY(read_strings(*config, "Entrypoint", image.entrypoint));
  RAIND_TRY(read_strings(*config, "Cmd", image.cmd));
  RAIND_TRY(read_string(*config, "WorkingDir", image.working_dir));
  RAIND_TRY(read_string(*config, "User", image.user));
  return image;
}

Result<ImageConfig> parse_image_config_text(std::string_view text) {
  json document = json::parse(text.begin(), text.end(), nullptr, false);
  if (document.is_discarded()) return fail(Errc::parse, "image config: invalid JSON");
  return image_config_from_json(document);
}

}  // namespace raind::condenser::containers

#pragma once
// The parts of an OCI image configuration that shape the container process.
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "raind/error.hpp"

namespace raind::condenser::containers {

struct ImageConfig {
  std::vector<std::string> env;  // KEY=VALUE
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::string working_dir;
  std::string user;
};

// Reads config.{Env,Entrypoint,Cmd,WorkingDir,User} from an image config document; tolerant of
// unknown fields and of a missing or null "config", strict about types.
Result<ImageConfig> image_config_from_json(const nlohmann::json& document);
Result<ImageConfig> parse_image_config_text(std::string_view text);

}  // namespace raind::condenser::containers

#pragma once
// The io.raind.image.config annotation: an overlay rootfs stacked from image layer directories.
// Parsing is pure; the layer directories are checked separately so a bad annotation is rejected
// before anything is created.
#include <string>
#include <string_view>
#include <vector>

#include "raind/error.hpp"

namespace raind::droplet {

inline constexpr std::string_view kImageAnnotation = "io.raind.image.config";
// The kernel's limit on overlay lower layers.
inline constexpr std::size_t kMaxOverlayLayers = 500;

struct OverlayConfig {
  std::vector<std::string> lower_dirs;  // top layer first, absolute
  std::string upper_dir;                // absolute
  std::string work_dir;                 // absolute, same file system as upper_dir
};

// Parses the annotation's JSON text. Errors name the field.
Result<OverlayConfig> parse_image_config(std::string_view json_text);
// Every layer, upper and work directory exists and is a directory.
Status check_overlay_dirs(const OverlayConfig& config);

}  // namespace raind::droplet

#pragma once
// The Raind annotations droplet reads from config.json: the overlay rootfs
// (io.raind.image.config) and the container network (io.raind.net.config). Field names match
// droplet's parsers (droplet/lib/src/image_config.cpp, droplet/net/src/net_config.cpp).
#include <string>
#include <string_view>
#include <vector>

#include "condenser/network/ipv4.hpp"

namespace raind::condenser::containers {

inline constexpr std::string_view kImageAnnotation = "io.raind.image.config";
inline constexpr std::string_view kNetAnnotation = "io.raind.net.config";

struct OverlayLayout {
  std::vector<std::string> lower_dirs;  // top layer first
  std::string upper_dir;
  std::string work_dir;
};

struct NetworkAttachment {
  std::string bridge;          // bridge the host end joins
  std::string veth;            // host end, "rd_<id>"
  std::string host_interface;  // optional; empty = omitted
  network::Ipv4 address = 0;
  unsigned prefix = 24;
  network::Ipv4 gateway = 0;
  unsigned mtu = 0;  // 0 = droplet's default
};

// {"rootfsType":"overlay","imageLayer":[…],"upperDir":…,"workDir":…}
std::string image_annotation(const OverlayLayout& overlay);
// {"bridgeInterface":…,"hostInterface":…,"interface":{"name":"rd_<id>","ipv4":{"address":
// "10.166.0.N/24","gateway":…},"mac":…}}; the MAC is derived from the address.
std::string net_annotation(const NetworkAttachment& attachment);

}  // namespace raind::condenser::containers

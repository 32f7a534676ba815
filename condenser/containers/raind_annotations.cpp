#include "condenser/containers/raind_annotations.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "condenser/network/mac.hpp"

namespace raind::condenser::containers {

std::string image_annotation(const OverlayLayout& overlay) {
  nlohmann::json doc = {{"rootfsType", "overlay"},
                        {"imageLayer", overlay.lower_dirs},
                        {"upperDir", overlay.upper_dir},
                        {"workDir", overlay.work_dir}};
  return doc.dump();
}

std::string net_annotation(const NetworkAttachment& a) {
  nlohmann::json iface = {
      {"name", a.veth},
      {"ipv4",
       {{"address", fmt::format("{}/{}", network::format_ipv4(a.address), a.prefix)},
        {"gateway", network::format_ipv4(a.gateway)}}},
      {"mac", network::format_mac(network::mac_for_ipv4(a.address))}};
  if (a.mtu != 0) iface["mtu"] = a.mtu;
  nlohmann::json doc = {{"bridgeInterface", a.bridge}, {"interface", iface}};
  if (!a.host_interface.empty()) doc["hostInterface"] = a.host_interface;
  return doc.dump();
}

}  // namespace raind::condenser::containers

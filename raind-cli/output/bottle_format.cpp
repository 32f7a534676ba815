#include "raind-cli/output/bottle_format.hpp"

#include <fmt/format.h>

#include "raind-cli/output/table.hpp"

namespace raind::cli {
namespace {

std::string text(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return "-";
  const auto& v = j[key];
  if (v.is_string()) return v.get<std::string>().empty() ? "-" : v.get<std::string>();
  if (v.is_array()) {
    std::string out;
    for (const auto& item : v) {
      std::string one = item.is_string()   ? item.get<std::string>()
                        : item.is_object() ? item.value("service", item.dump())
                                           : item.dump();
      if (item.is_object() && item.value("condition", "") == "service_healthy") one += " (healthy)";
      out += (out.empty() ? "" : ", ") + one;
    }
    return out.empty() ? "-" : out;
  }
  return v.dump();
}

}  // namespace

std::string format_bottle_list(const nlohmann::json& bottles) {
  Table t({"BOTTLE NAME", "SERVICES", "STATUS", "NETWORK", "CREATED"});
  for (const auto& b : bottles) {
    std::size_t services = b.contains("services") ? b["services"].size() : 0;
    t.add({text(b, "name"), std::to_string(services), text(b, "status"), text(b, "network"),
           text(b, "created_at")});
  }
  return t.render();
}

std::string format_bottle_show(const nlohmann::json& b) {
  std::string out = render_pairs({{"BOTTLE NAME", text(b, "name")},
                                  {"CREATED AT", text(b, "created_at")},
                                  {"STATUS", text(b, "status")},
                                  {"NETWORK", text(b, "network")},
                                  {"START ORDER", text(b, "start_order")}});
  const auto services = b.value("services", nlohmann::json::object());
  out += "\nSERVICES\n";
  Table t({"SERVICE", "CONTAINER ID", "CONTAINER", "IMAGE", "STATE", "IP"});
  for (const auto& [name, s] : services.items())
    t.add({name, text(s, "container_id"), text(s, "container"), text(s, "image"), text(s, "state"),
           text(s, "ip")});
  out += t.render();
  int n = 0;
  for (const auto& [name, s] : services.items()) {
    out += fmt::format("\nSERVICE [{}] {}\n", ++n, name);
    out += render_pairs(
        {{"  CONTAINER ID", text(s, "container_id")},
         {"  IMAGE", text(s, "image")},
         {"  COMMAND", text(s, "command")},
         {"  ENV", text(s, "env")},
         {"  PORTS", text(s, "ports")},
         {"  MOUNT", text(s, "mount")},
         {"  NETWORK", text(s, "network") == "-" ? text(b, "network") : text(s, "network")},
         {"  TTY", text(s, "tty")},
         {"  DEPENDS ON", text(s, "depends_on")}});
  }
  out += "\nPOLICIES\n";
  Table p({"ID", "TYPE", "SOURCE", "DESTINATION", "PROTOCOL", "DPORT", "COMMENT"});
  for (const auto& pol : b.value("policies", nlohmann::json::array())) {
    std::string dport = pol.value("dport", 0) == 0 ? "-" : std::to_string(pol.value("dport", 0));
    p.add({text(pol, "id"), text(pol, "type"), text(pol, "source"), text(pol, "destination"),
           text(pol, "protocol"), dport, text(pol, "comment")});
  }
  out += p.render();
  return out;
}

}  // namespace raind::cli

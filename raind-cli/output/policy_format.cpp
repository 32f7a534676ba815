#include "raind-cli/output/policy_format.hpp"

#include <fmt/format.h>

#include "raind-cli/output/table.hpp"

namespace raind::cli {
namespace {

std::string block(const nlohmann::json& listing, const std::string& type) {
  const bool ew = type == "ew";
  std::string mode = listing.value("mode", "observe");
  std::string shown_mode = ew ? "deny_by_default" : mode;
  if (!ew && listing.contains("next_mode"))
    shown_mode += fmt::format(" ({} next commit)", listing.value("next_mode", ""));
  std::string out = fmt::format("POLICY TYPE : {}\nCURRENT MODE: {}\n",
                                ew ? "East-West" : "North-South", shown_mode);
  if (!ew)
    out += fmt::format("CHAIN       : {}\n",
                       type == "ns-obs" ? "observe (deny list)" : "enforce (allow list)");
  Table t({"FLAG", "POLICY ID", "SRC CONTAINER", ew ? "DST CONTAINER" : "DST ADDR", "PROTOCOL",
           "DST PORT", "ACTION", "COMMENT", "REASON"});
  for (const auto& p : listing.value("policies", nlohmann::json::array())) {
    if (p.value("type", "") != type) continue;
    std::string reason = p.value("reason", "");
    if (p.contains("status_reason")) {
      reason = p.value("status_reason", "") + (reason.empty() ? "" : "; " + reason);
    }
    auto port = p.value("dport", 0);
    std::string protocol = p.value("protocol", "");
    t.add({p.value("flag", "[ ]"), p.value("id", ""), p.value("source", ""),
           p.value("destination", ""), protocol.empty() ? "*" : protocol,
           port == 0 ? "*" : std::to_string(port), p.value("action", ""), p.value("comment", ""),
           reason});
  }
  out += t.render();
  if (ew)
    out += "  >> DENY ALL EAST-WEST TRAFFIC <<\n";
  else if (type == "ns-obs")
    out += "  >> ALLOW ALL NORTH-SOUTH TRAFFIC <<\n";
  else
    out += "  >> DENY ALL NORTH-SOUTH TRAFFIC <<\n";
  return out;
}

}  // namespace

std::string format_policy_listing(const nlohmann::json& listing, const std::string& type) {
  std::string out =
      "FLAG: [*] - Applied, [+] - Apply next commit, [-] - Remove next commit, [ ] - Not applied\n";
  out += fmt::format("REVISION: {}\n\n", listing.value("revision", 0));
  if (!type.empty()) return out + block(listing, type);
  out += block(listing, "ew");
  out += "============================\n";
  // The north-south chain that is (or, after the next commit, will be) in force.
  std::string mode = listing.value("next_mode", listing.value("mode", "observe"));
  out += block(listing, mode == "enforce" ? "ns-enf" : "ns-obs");
  return out;
}

}  // namespace raind::cli

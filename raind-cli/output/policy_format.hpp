#pragma once
// `raind policy ls` in the seed's layout: the flag legend, one block per policy type (east-west,
// then the north-south chain of the mode in force) with its mode line, the table, and the
// default-verdict footer. Pure: the daemon's JSON in, text out.
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace raind::cli {

// type: empty for all, else "ew", "ns-obs" or "ns-enf".
std::string format_policy_listing(const nlohmann::json& listing, const std::string& type = {});

}  // namespace raind::cli

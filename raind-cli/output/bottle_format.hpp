#pragma once
// `raind bottle ls` and `raind bottle show` from the API's JSON.
#include <string>

#include <nlohmann/json.hpp>

namespace raind::cli {

// BOTTLE NAME  SERVICES  STATUS  NETWORK  CREATED
std::string format_bottle_list(const nlohmann::json& bottles);
// Key/value head (name, created, status, network, start order), a SERVICES table, one block
// per service (name order), then a POLICIES table; "-" for what is empty.
std::string format_bottle_show(const nlohmann::json& bottle);

}  // namespace raind::cli

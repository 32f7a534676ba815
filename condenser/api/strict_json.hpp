#pragma once
// Strict decoding of Raind's own JSON request bodies: the body must be one object, every field
// read must have the right type, and any field nobody read is an error naming it.
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "raind/error.hpp"

namespace raind::condenser::api {

class StrictObject {
 public:
  // Empty body counts as {} when `empty_ok`.
  static Result<StrictObject> parse(std::string_view body, bool empty_ok = false);

  Result<std::string> required_string(const std::string& key);
  Result<std::optional<std::string>> optional_string(const std::string& key);
  Result<std::optional<bool>> optional_bool(const std::string& key);
  Result<std::optional<std::int64_t>> optional_int(const std::string& key);
  Result<std::optional<double>> optional_number(const std::string& key);
  Result<std::vector<std::string>> string_array(const std::string& key);  // absent → {}
  // Absent is distinct from [] (e.g. an entrypoint replaced by nothing).
  Result<std::optional<std::vector<std::string>>> optional_string_array(const std::string& key);
  // Fails on the first field (in key order) that no accessor asked for.
  Status finish() const;

  const nlohmann::json& json() const { return json_; }

 private:
  explicit StrictObject(nlohmann::json json) : json_(std::move(json)) {}
  const nlohmann::json* lookup(const std::string& key);

  nlohmann::json json_;
  std::set<std::string> seen_;
};

}  // namespace raind::condenser::api

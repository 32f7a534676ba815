#include "condenser/api/strict_json.hpp"

namespace raind::condenser::api {

Result<StrictObject> StrictObject::parse(std::string_view body, bool empty_ok) {
  if (body.empty()) {
    if (empty_ok) return StrictObject(nlohmann::json::object());
    return fail(Errc::invalid_argument, "invalid json: request body is empty");
  }
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_discarded())
    return fail(Errc::invalid_argument, "invalid json: body is not valid json");
  if (!json.is_object())
    return fail(Errc::invalid_argument, "invalid json: body must be a json object");
  return StrictObject(std::move(json));
}

const nlohmann::json* StrictObject::lookup(const std::string& key) {
  seen_.insert(key);
  auto it = json_.find(key);
  if (it == json_.end() || it->is_null()) return nullptr;
  return &*it;
}

Result<std::string> StrictObject::required_string(const std::string& key) {
  const auto* v = lookup(key);
  if (!v) return failf(Errc::invalid_argument, "invalid json: field '{}' is required", key);
  if (!v->is_string())
    return failf(Errc::invalid_argument, "invalid json: field '{}' must be a string", key);
  return v->get<std::string>();
}

Result<std::optional<std::string>> StrictObject::optional_string(const std::string& key) {
  const auto* v = lookup(key);
  if (!v) return std::optional<std::string>();
  if (!v->is_string())
    return failf(Errc::invalid_argument, "invalid json: field '{}' must be a string", key);
  return std::optional(v->get<std::string>());
}

Result<std::optional<bool>> StrictObject::optional_bool(const std::string& key) {
  const auto* v = lookup(key);
  if (!v) return std::optional<bool>();
  if (!v->is_boolean())
    return failf(Errc::invalid_argument, "invalid json: field '{}' must be a boolean", key);
  return std::optional(v->get<bool>());
}

Result<std::optional<std::int64_t>> StrictObject::optional_int(const std::string& key) {
  const auto* v = lookup(key);
  if (!v) return std::optional<std::int64_t>();
  if (!v->is_number_integer())
    return failf(Errc::invalid_argument, "invalid json: field '{}' must be an integer", key);
  return std::optional(v->get<std::int64_t>());
}

Result<std::optional<double>> StrictObject::optional_number(const std::string& key) {
  const auto* v = lookup(key);
  if (!v) return std::optional<double>();
  if (!v->is_number())
    return failf(Errc::invalid_argument, "invalid json: field '{}' must be a number", key);
  return std::optional(v->get<double>());
}

Result<std::optional<std::vector<std::string>>> StrictObject::optional_string_array(
    const std::string& key) {
  if (!json_.contains(key)) {
    seen_.insert(key);
    return std::optional<std::vector<std::string>>();
  }
  RAIND_TRY_ASSIGN(auto items, string_array(key));
  return std::optional(std::move(items));
}

Result<std::vector<std::string>> StrictObject::string_array(const std::string& key) {
  const auto* v = lookup(key);
  std::vector<std::string> out;
  if (!v) return out;
  if (!v->is_array())
    return failf(Errc::invalid_argument, "invalid json: field '{}' must be an array of strings",
                 key);
  for (const auto& item : *v) {
    if (!item.is_string())
      return failf(Errc::invalid_argument, "invalid json: field '{}' must be an array of strings",
                   key);
    out.push_back(item.get<std::string>());
  }
  return out;
}

Status StrictObject::finish() const {
  for (const auto& [key, value] : json_.items()) {
    (void)value;
    if (!seen_.contains(key))
      return failf(Errc::invalid_argument, "invalid json: unknown field '{}'", key);
  }
  return ok();
}

}  // namespace raind::condenser::api

#include "condenser/bottle/model.hpp"

#include <algorithm>

namespace raind::condenser::bottle {
namespace {

bool lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// [a-z0-9][a-z0-9<extra>]{0,31}
bool matches_name(std::string_view name, std::string_view extra) {
  if (name.empty() || name.size() > 32 || !lower_alnum(name.front())) return false;
  return std::all_of(name.begin(), name.end(), [&](char c) {
    return lower_alnum(c) || extra.find(c) != std::string_view::npos;
  });
}

nlohmann::json optional_json(const auto& value) {
  if (!value) return nullptr;
  return *value;
}

}  // namespace

Status validate_bottle_name(std::string_view name) {
  if (!matches_name(name, "_.-"))
    return failf(Errc::invalid_argument,
                 "bottle name '{}' must match [a-z0-9][a-z0-9_.-]{{0,31}} (it prefixes the "
                 "container names)",
                 name);
  return ok();
}

Status validate_service_name(std::string_view name) {
  if (!matches_name(name, "_-"))
    return failf(Errc::invalid_argument, "service name '{}' must match [a-z0-9][a-z0-9_-]{{0,31}}",
                 name);
  return ok();
}

std::string container_name(std::string_view bottle, std::string_view service) {
  return fmt::format("{}-{}", bottle, service);
}

std::string_view condition_name(DependencyCondition condition) {
  return condition == DependencyCondition::service_healthy ? "service_healthy" : "service_started";
}

Result<DependencyCondition> parse_condition(std::string_view text) {
  if (text == "service_started") return DependencyCondition::service_started;
  if (text == "service_healthy") return DependencyCondition::service_healthy;
  return failf(Errc::invalid_argument, "condition '{}' is not service_started or service_healthy",
               text);
}

bool Service::depends_on_service(std::string_view service) const {
  return std::any_of(depends_on.begin(), depends_on.end(),
                     [&](const Dependency& d) { return d.service == service; });
}

nlohmann::json Service::to_json() const {
  nlohmann::json deps = nlohmann::json::array();
  for (const auto& d : depends_on)
    deps.push_back({{"service", d.service}, {"condition", condition_name(d.condition)}});
  nlohmann::json health = nullptr;
  if (healthcheck)
    health = {{"command", healthcheck->command},
              {"interval_ms", healthcheck->interval.count()},
              {"retries", healthcheck->retries}};
  return {{"name", name},
          {"container", container},
          {"image", image},
          {"command", command},
          {"env", env},
          {"ports", ports},
          {"mount", mounts},
          {"network", network},
          {"tty", tty},
          {"depends_on", std::move(deps)},
          {"memory", optional_json(memory_bytes)},
          {"cpus", optional_json(cpus)},
          {"pids_limit", optional_json(pids_limit)},
          {"restart", restart.to_string()},
          {"healthcheck", std::move(health)}};
}

policy::Policy BottlePolicy::to_policy(std::string id, std::string reason) const {
  policy::Policy p;
  p.id = std::move(id);
  p.type = type;
  p.source = source;
  p.destination = destination;
  p.protocol = protocol;
  p.dport = dport;
  p.comment = comment;
  p.reason = std::move(reason);
  return p;
}

nlohmann::json BottlePolicy::to_json() const {
  return {{"type", policy::type_name(type)},
          {"source", source},
          {"destination", destination},
          {"source_service", source_service},
          {"destination_service", destination_service},
          {"protocol", protocol},
          {"dest_port", dport},
          {"comment", comment}};
}

const Service* Bottle::find_service(std::string_view service) const {
  auto it = std::find_if(services.begin(), services.end(),
                         [&](const Service& s) { return s.name == service; });
  return it == services.end() ? nullptr : &*it;
}

nlohmann::json Bottle::to_json() const {
  nlohmann::json svcs = nlohmann::json::array();
  for (const auto& s : services) svcs.push_back(s.to_json());
  nlohmann::json pols = nlohmann::json::array();
  for (const auto& p : policies) pols.push_back(p.to_json());
  return {{"name", name},
          {"services", std::move(svcs)},
          {"start_order", start_order},
          {"stop_order", stop_order},
          {"policies", std::move(pols)}};
}

}  // namespace raind::condenser::bottle

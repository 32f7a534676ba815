#include "route_bodies.hpp"

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "condenser/api/strict_json.hpp"
#include "condenser/containers/naming.hpp"
#include "condenser/containers/record.hpp"
#include "condenser/containers/volume_spec.hpp"
#include "condenser/images/reference.hpp"
#include "condenser/network/network_name.hpp"
#include "condenser/policy/policy.hpp"
#include "raind/oci/runtime_spec.hpp"

namespace raind::fuzz {
namespace {

namespace containers = condenser::containers;
namespace images = condenser::images;
namespace policy = condenser::policy;
using condenser::api::StrictObject;

// POST /v1/containers: parse_create_request, then the checks ContainerService::create makes
// before it touches anything (name, network name, volume syntax and container paths).
Status container_create(std::string_view body) {
  RAIND_TRY_ASSIGN(auto request, containers::parse_create_request(body));
  if (request.name) RAIND_TRY(containers::validate_container_name(*request.name));
  if (!request.network.empty())
    RAIND_TRY(condenser::network::validate_network_name(request.network));
  for (const auto& text : request.volumes) {
    RAIND_TRY_ASSIGN(auto volume, containers::parse_volume_spec(text));
    RAIND_TRY(containers::normalize_container_path(volume.destination));
  }
  return ok();
}

Status container_exec(std::string_view body) {
  RAIND_TRY_ASSIGN(auto object, StrictObject::parse(body));
  RAIND_TRY(object.string_array("command"));
  RAIND_TRY(object.string_array("env"));
  RAIND_TRY(object.optional_string("workdir"));
  RAIND_TRY(object.optional_string("user"));
  RAIND_TRY(object.optional_bool("tty"));
  return object.finish();
}

Status network_create(std::string_view body) {
  RAIND_TRY_ASSIGN(auto object, StrictObject::parse(body));
  RAIND_TRY_ASSIGN(auto name, object.required_string("name"));
  RAIND_TRY(object.finish());
  return condenser::network::validate_network_name(name);
}

Status image_pull(std::string_view body) {
  RAIND_TRY_ASSIGN(auto object, StrictObject::parse(body));
  RAIND_TRY_ASSIGN(auto reference, object.required_string("reference"));
  RAIND_TRY(object.optional_string("platform"));
  RAIND_TRY(object.finish());
  RAIND_TRY(images::parse_reference(reference));
  return ok();
}

// "docker.io" → the registry as references name it.
Status registry_name(const std::string& name) {
  auto probe = images::parse_reference(name + "/x");
  if (!probe || name.empty() || name.find('/') != std::string::npos)
    return fail(Errc::invalid_argument, "registry is not host[:port]");
  return ok();
}

Status image_login(std::string_view body) {
  RAIND_TRY_ASSIGN(auto object, StrictObject::parse(body));
  auto registry = object.required_string("registry");
  auto username = object.required_string("username");
  auto password = object.required_string("password");
  for (const auto* field : {&registry, &username, &password})
    if (!*field) return std::unexpected(field->error());
  RAIND_TRY(object.finish());
  RAIND_TRY(registry_name(*registry));
  if (username->empty() || username->find(':') != std::string::npos)
    return fail(Errc::invalid_argument, "username");
  return ok();
}

Status image_logout(std::string_view body) {
  RAIND_TRY_ASSIGN(auto object, StrictObject::parse(body));
  RAIND_TRY_ASSIGN(auto registry, object.required_string("registry"));
  RAIND_TRY(object.finish());
  auto probe = images::parse_reference(registry + "/x");
  if (!probe) return std::unexpected(probe.error());
  return ok();
}

Status image_export(std::string_view body) {
  RAIND_TRY_ASSIGN(auto object, StrictObject::parse(body));
  auto names = object.string_array("images");
  auto path = object.required_string("path");
  if (!names) return std::unexpected(names.error());
  if (!path) return std::unexpected(path.error());
  RAIND_TRY(object.finish());
  if (!std::filesystem::path(*path).is_absolute()) return fail(Errc::invalid_argument, "path");
  if (names->empty()) return fail(Errc::invalid_argument, "images");
  return ok();
}

Status image_prune(std::string_view body) {
  RAIND_TRY_ASSIGN(auto object, StrictObject::parse(body, true));
  RAIND_TRY(object.optional_bool("all"));
  return object.finish();
}

// POST /v1/images/import reads its body with nlohmann directly, not StrictObject.
Status image_import(std::string_view body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return fail(Errc::invalid_argument, "body");
  for (auto it = doc.begin(); it != doc.end(); ++it)
    if (it.key() != "path" && it.key() != "reference")
      return fail(Errc::invalid_argument, "unknown field");
  if (!doc.contains("path") || !doc["path"].is_string())
    return fail(Errc::invalid_argument, "path");
  std::filesystem::path path = doc["path"].get<std::string>();
  if (!path.is_absolute()) return fail(Errc::invalid_argument, "path");
  if (doc.contains("reference")) {
    if (!doc["reference"].is_string()) return fail(Errc::invalid_argument, "reference");
    RAIND_TRY(images::parse_reference(doc["reference"].get<std::string>()));
  }
  return ok();
}

Status pki_rotate(std::string_view body) {
  RAIND_TRY_ASSIGN(auto object, StrictObject::parse(body, true));
  return object.finish();
}

// POST /v1/policies, then PolicyService::add's validation (with the id it would assign).
Status policy_add(std::string_view body) {
  RAIND_TRY_ASSIGN(auto object, StrictObject::parse(body));
  auto type = object.required_string("type");
  auto source = object.required_string("source");
  auto destination = object.required_string("destination");
  auto protocol = object.optional_string("protocol");
  auto dport = object.optional_int("dport");
  auto comment = object.optional_string("comment");
  auto reason = object.optional_string("reason");
  for (const auto* f : {&type, &source, &destination})
    if (!*f) return std::unexpected(f->error());
  for (const auto* f : {&protocol, &comment, &reason})
    if (!*f) return std::unexpected(f->error());
  if (!dport) return std::unexpected(dport.error());
  RAIND_TRY(object.finish());
  policy::Policy p;
  RAIND_TRY_ASSIGN(p.type, policy::parse_type(*type));
  p.source = *source;
  p.destination = *destination;
  p.protocol = protocol->value_or("");
  std::int64_t port = dport->value_or(0);
  if (port < 0 || port > 65535) return fail(Errc::invalid_argument, "dport");
  p.dport = static_cast<std::uint16_t>(port);
  p.comment = comment->value_or("");
  p.reason = reason->value_or("");
  p.id = "01kg2cnf0ytvq8h5m3n4p6r7s9";
  RAIND_TRY(policy::validate_policy(p));
  // What the API answers with must render.
  (void)policy::to_json(p).dump();
  return ok();
}

Status policy_mode(std::string_view body) {
  RAIND_TRY_ASSIGN(auto object, StrictObject::parse(body));
  RAIND_TRY_ASSIGN(auto mode, object.required_string("mode"));
  RAIND_TRY(object.finish());
  RAIND_TRY(policy::parse_mode(mode));
  return ok();
}

// POST /v1/hooks/droplet: droplet's OCI state document, read tolerantly for its id (and by
// droplet's own parser, which wrote it).
Status hook_state(std::string_view body) {
  auto state = nlohmann::json::parse(body, nullptr, false);
  if (state.is_discarded() || !state.is_object()) return fail(Errc::invalid_argument, "state");
  auto id = state.find("id");
  if (id == state.end() || !id->is_string()) return fail(Errc::invalid_argument, "id");
  (void)id->get<std::string>();
  RAIND_TRY(oci::parse_state(body));
  return ok();
}

const std::vector<BodyRoute>& routes() {
  static const std::vector<BodyRoute> all = {
      {"container.create",
       {"image", "name", "command", "entrypoint", "env", "workdir", "user", "hostname", "read_only",
        "tty", "memory", "cpus", "pids_limit", "volumes", "ports", "network", "restart", "start"},
       false,
       container_create},
      {"container.exec", {"command", "env", "workdir", "user", "tty"}, false, container_exec},
      {"network.create", {"name"}, false, network_create},
      {"image.pull", {"reference", "platform"}, false, image_pull},
      {"image.login", {"registry", "username", "password"}, false, image_login},
      {"image.logout", {"registry"}, false, image_logout},
      {"image.export", {"images", "path"}, false, image_export},
      {"image.prune", {"all"}, true, image_prune},
      {"image.import", {"path", "reference"}, false, image_import},
      {"pki.rotate", {}, true, pki_rotate},
      {"policy.add",
       {"type", "source", "destination", "protocol", "dport", "comment", "reason"},
       false,
       policy_add},
      {"policy.mode.change", {"mode"}, false, policy_mode},
      {"hook.apply", {}, false, hook_state},
  };
  return all;
}

}  // namespace

std::span<const BodyRoute> body_routes() {
  return routes();
}

const BodyRoute& body_route(std::string_view name) {
  for (const auto& r : routes())
    if (r.name == name) return r;
  throw std::logic_error("no such route");
}

}  // namespace raind::fuzz

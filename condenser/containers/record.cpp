#include "condenser/containers/record.hpp"

#include <charconv>
#include <limits>

#include "condenser/api/strict_json.hpp"

namespace raind::condenser::containers {

std::string RestartPolicy::to_string() const {
  switch (mode) {
    case Mode::no:
      return "no";
    case Mode::always:
      return "always";
    case Mode::on_failure:
      return max_retries > 0 ? fmt::format("on-failure:{}", max_retries) : "on-failure";
  }
  return "no";
}

Result<RestartPolicy> parse_restart_policy(std::string_view text) {
  RestartPolicy policy;
  if (text.empty() || text == "no") return policy;
  if (text == "always") {
    policy.mode = RestartPolicy::Mode::always;
    return policy;
  }
  constexpr std::string_view kOnFailure = "on-failure";
  if (text.substr(0, kOnFailure.size()) == kOnFailure) {
    policy.mode = RestartPolicy::Mode::on_failure;
    std::string_view rest = text.substr(kOnFailure.size());
    if (rest.empty()) return policy;
    if (rest.front() == ':') {
      rest.remove_prefix(1);
      int n = 0;
      auto [ptr, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), n);
      if (!rest.empty() && ec == std::errc() && ptr == rest.data() + rest.size() && n > 0 &&
          n <= 1000) {
        policy.max_retries = n;
        return policy;
      }
    }
  }
  return failf(Errc::invalid_argument,
               "restart policy '{}' is not one of no, always, on-failure, on-failure:N (1-1000)",
               text);
}

bool should_restart(const RestartPolicy& policy, int exit_code, int restarts_so_far) {
  switch (policy.mode) {
    case RestartPolicy::Mode::no:
      return false;
    case RestartPolicy::Mode::always:
      return true;
    case RestartPolicy::Mode::on_failure:
      return exit_code != 0 && (policy.max_retries == 0 || restarts_so_far < policy.max_retries);
  }
  return false;
}

Result<CreateRequest> parse_create_request(std::string_view body) {
  RAIND_TRY_ASSIGN(auto object, api::StrictObject::parse(body));
  CreateRequest req;
  RAIND_TRY_ASSIGN(req.image, object.required_string("image"));
  if (req.image.empty()) return failf(Errc::invalid_argument, "field 'image' must not be empty");
  RAIND_TRY_ASSIGN(req.name, object.optional_string("name"));
  RAIND_TRY_ASSIGN(req.process.command, object.string_array("command"));
  RAIND_TRY_ASSIGN(req.process.entrypoint, object.optional_string_array("entrypoint"));
  RAIND_TRY_ASSIGN(req.process.env, object.string_array("env"));
  for (const auto& e : req.process.env)
    if (e.empty() || e.front() == '=' || e.find('=') == std::string::npos)
      return failf(Errc::invalid_argument, "env entry '{}' is not KEY=VALUE", e);
  RAIND_TRY_ASSIGN(auto workdir, object.optional_string("workdir"));
  req.process.workdir = workdir.value_or("");
  if (!req.process.workdir.empty() && req.process.workdir.front() != '/')
    return failf(Errc::invalid_argument, "workdir '{}' must be an absolute path",
                 req.process.workdir);
  RAIND_TRY_ASSIGN(auto user, object.optional_string("user"));
  req.process.user = user.value_or("");
  RAIND_TRY_ASSIGN(auto hostname, object.optional_string("hostname"));
  req.process.hostname = hostname.value_or("");
  RAIND_TRY_ASSIGN(auto read_only, object.optional_bool("read_only"));
  req.process.read_only = read_only.value_or(false);
  RAIND_TRY_ASSIGN(auto tty, object.optional_bool("tty"));
  req.process.tty = tty.value_or(false);
  RAIND_TRY_ASSIGN(req.process.memory_bytes, object.optional_int("memory"));
  if (req.process.memory_bytes && *req.process.memory_bytes < kMinMemoryBytes)
    return failf(Errc::invalid_argument, "memory {} bytes is below the minimum of {} (6 MiB)",
                 *req.process.memory_bytes, kMinMemoryBytes);
  RAIND_TRY_ASSIGN(req.process.cpus, object.optional_number("cpus"));
  if (req.process.cpus && (*req.process.cpus < 0.01 || *req.process.cpus > 1024))
    return failf(Errc::invalid_argument, "cpus {} is outside 0.01..1024", *req.process.cpus);
  RAIND_TRY_ASSIGN(req.process.pids_limit, object.optional_int("pids_limit"));
  if (req.process.pids_limit && *req.process.pids_limit < 1)
    return failf(Errc::invalid_argument, "pids_limit {} must be at least 1",
                 *req.process.pids_limit);
  RAIND_TRY_ASSIGN(req.volumes, object.string_array("volumes"));
  RAIND_TRY_ASSIGN(auto ports, object.string_array("ports"));
  RAIND_TRY_ASSIGN(req.ports, parse_port_specs(ports));
  RAIND_TRY_ASSIGN(auto network, object.optional_string("network"));
  req.network = network.value_or("");
  RAIND_TRY_ASSIGN(auto restart, object.optional_string("restart"));
  RAIND_TRY_ASSIGN(req.restart, parse_restart_policy(restart.value_or("no")));
  RAIND_TRY_ASSIGN(auto start, object.optional_bool("start"));
  req.start = start.value_or(false);
  RAIND_TRY(object.finish());
  return req;
}

nlohmann::json ContainerRecord::to_json() const {
  nlohmann::json ports_json = nlohmann::json::array();
  for (const auto& p : ports) ports_json.push_back(p.to_string());
  nlohmann::json doc{{"id", id},
                     {"name", name},
                     {"image", image},
                     {"image_id", image_id},
                     {"state", state},
                     {"pid", pid},
                     {"exit_code", exit_code ? nlohmann::json(*exit_code) : nlohmann::json()},
                     {"oom_killed", oom_killed},
                     {"command", command},
                     {"tty", tty},
                     {"network", network},
                     {"ip", ip},
                     {"veth", veth},
                     {"ports", ports_json},
                     {"restart", restart.to_string()},
                     {"restart_count", restart_count},
                     {"stop_requested", stop_requested},
                     {"created_at", created_at},
                     {"started_at", started_at},
                     {"finished_at", finished_at}};
  if (!bottle.empty()) doc["bottle"] = bottle;
  return doc;
}

Result<ContainerRecord> ContainerRecord::from_json(const nlohmann::json& doc) {
  if (!doc.is_object()) return failf(Errc::parse, "container record is not a JSON object");
  ContainerRecord r;
  // Numbers must be integers that fit: a float or an out-of-range value would otherwise be
  // converted with undefined behaviour.
  auto integer = [&doc]<typename Int>(const char* key, Int fallback) -> Result<Int> {
    auto it = doc.find(key);
    if (it == doc.end()) return fallback;
    if (!it->is_number_integer())
      return failf(Errc::parse, "container record: '{}' is not an integer", key);
    if (it->is_number_unsigned()
            ? it->get<std::uint64_t>() > std::uint64_t(std::numeric_limits<Int>::max())
            : (it->get<std::int64_t>() < std::numeric_limits<Int>::min() ||
               it->get<std::int64_t>() > std::numeric_limits<Int>::max()))
      return failf(Errc::parse, "container record: '{}' is out of range", key);
    return it->get<Int>();
  };
  try {
    r.id = doc.at("id").get<std::string>();
    r.name = doc.at("name").get<std::string>();
    r.image = doc.value("image", "");
    r.image_id = doc.value("image_id", "");
    r.state = doc.value("state", "stopped");
    RAIND_TRY_ASSIGN(r.pid, integer("pid", std::int64_t{0}));
    if (doc.contains("exit_code") && !doc["exit_code"].is_null()) {
      RAIND_TRY_ASSIGN(r.exit_code, integer("exit_code", 0));
    }
    r.oom_killed = doc.value("oom_killed", false);
    r.command = doc.value("command", std::vector<std::string>{});
    r.tty = doc.value("tty", false);
    r.network = doc.value("network", "");
    r.ip = doc.value("ip", "");
    r.veth = doc.value("veth", "");
    for (const auto& p : doc.value("ports", std::vector<std::string>{})) {
      // Stored in the listing form "ip:host->ctr/proto"; parse back through the -p syntax.
      auto arrow = p.find("->");
      if (arrow == std::string::npos) return failf(Errc::parse, "stored port '{}' is malformed", p);
      RAIND_TRY_ASSIGN(auto spec, parse_port_spec(p.substr(0, arrow) + ":" + p.substr(arrow + 2)));
      r.ports.push_back(spec);
    }
    RAIND_TRY_ASSIGN(r.restart, parse_restart_policy(doc.value("restart", "no")));
    RAIND_TRY_ASSIGN(r.restart_count, integer("restart_count", 0));
    r.stop_requested = doc.value("stop_requested", false);
    r.created_at = doc.value("created_at", "");
    r.started_at = doc.value("started_at", "");
    r.finished_at = doc.value("finished_at", "");
    r.bottle = doc.value("bottle", "");
  } catch (const nlohmann::json::exception& e) {
    return failf(Errc::parse, "container record: {}", e.what());
  }
  return r;
}

}  // namespace raind::condenser::containers

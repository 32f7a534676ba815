#include "condenser/bottle/parse.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "condenser/bottle/order.hpp"
#include "condenser/bottle/units.hpp"
#include "condenser/containers/config_gen.hpp"
#include "condenser/containers/naming.hpp"
#include "condenser/containers/port_spec.hpp"
#include "condenser/containers/volume_spec.hpp"
#include "condenser/network/network_name.hpp"

namespace raind::condenser::bottle {
namespace {

// ---- strict YAML helpers ------------------------------------------------------------------

std::string where(std::string_view origin, const YAML::Mark& mark) {
  // yaml-cpp marks are 0-based; editors count from 1. A node built without a position (-1)
  // points at the start of the file.
  return fmt::format("{}:{}:{}", origin, std::max(mark.line, 0) + 1, std::max(mark.column, 0) + 1);
}

std::string where(std::string_view origin, const YAML::Node& node) {
  return where(origin, node.Mark());
}

// Well-formed UTF-8 (no overlong forms, surrogates or code points past U+10FFFF): everything
// parsed ends up in JSON (the stored record, API answers), which cannot carry anything else.
// Returns the offset of the first bad byte, or npos.
std::size_t invalid_utf8_at(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = c >= 0xc2 && c <= 0xdf   ? 2
                    : c >= 0xe0 && c <= 0xef ? 3
                    : c >= 0xf0 && c <= 0xf4 ? 4
                                             : 0;
    if (n == 0 || i + n > text.size()) return i;
    const auto c1 = static_cast<unsigned char>(text[i + 1]);
    const unsigned char low = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    const unsigned char high = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (c1 < low || c1 > high) return i;
    for (std::size_t k = 2; k < n; ++k)
      if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string join_key(std::string_view section, std::string_view key) {
  return section.empty() ? std::string(key) : fmt::format("{}.{}", section, key);
}

using Field = std::function<Status(const YAML::Node& value)>;

// A mapping whose keys must all be known; each value goes to its field handler in file order.
// An empty value ("image:") is an error at its key, where yaml-cpp would place it at the next
// token, unless the key is `nullable`.
Status check_map(std::string_view origin, const YAML::Node& node, std::string_view section,
                 const std::map<std::string, Field, std::less<>>& fields,
                 const std::set<std::string, std::less<>>& nullable = {}) {
  if (!node.IsMap())
    return failf(Errc::parse, "{}: '{}' must be a mapping", where(origin, node), section);
  std::set<std::string> seen;
  for (const auto& item : node) {
    if (!item.first.IsScalar())
      return failf(Errc::parse, "{}: keys of '{}' must be strings", where(origin, item.first),
                   section);
    const std::string& key = item.first.Scalar();
    auto it = fields.find(key);
    if (it == fields.end())
      return failf(Errc::parse, "{}: unknown key '{}'", where(origin, item.first),
                   join_key(section, key));
    if (!seen.insert(key).second)
      return failf(Errc::parse, "{}: duplicate key '{}'", where(origin, item.first),
                   join_key(section, key));
    if (item.second.IsNull() && !nullable.contains(key))
      return failf(Errc::parse, "{}: '{}' has no value", where(origin, item.first),
                   join_key(section, key));
    RAIND_TRY(it->second(item.second));
  }
  return ok();
}

// Keys of a mapping whose keys are names (services, depends_on): scalar and unique.
Status check_name_keys(std::string_view origin, const YAML::Node& node, std::string_view section) {
  std::set<std::string> seen;
  for (const auto& item : node) {
    if (!item.first.IsScalar())
      return failf(Errc::parse, "{}: keys of '{}' must be strings", where(origin, item.first),
                   section);
    if (!seen.insert(item.first.Scalar()).second)
      return failf(Errc::parse, "{}: duplicate key '{}'", where(origin, item.first),
                   join_key(section, item.first.Scalar()));
  }
  return ok();
}

Result<std::string> as_string(std::string_view origin, const YAML::Node& node,
                              std::string_view key) {
  if (!node.IsScalar())
    return failf(Errc::parse, "{}: '{}' must be a string", where(origin, node), key);
  // Escapes ("\ud800") can make invalid UTF-8 out of a valid file.
  if (invalid_utf8_at(node.Scalar()) != std::string_view::npos)
    return failf(Errc::parse, "{}: '{}' is not valid UTF-8", where(origin, node), key);
  return node.Scalar();
}

Result<std::string> as_nonempty_string(std::string_view origin, const YAML::Node& node,
                                       std::string_view key) {
  RAIND_TRY_ASSIGN(auto value, as_string(origin, node, key));
  if (value.empty())
    return failf(Errc::invalid_argument, "{}: '{}' must not be empty", where(origin, node), key);
  return value;
}

Result<std::int64_t> as_int(std::string_view origin, const YAML::Node& node, std::string_view key,
                            std::int64_t min_value, std::int64_t max_value) {
  if (!node.IsScalar())
    return failf(Errc::parse, "{}: '{}' must be an integer", where(origin, node), key);
  const std::string& text = node.Scalar();
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size())
    return failf(Errc::parse, "{}: '{}' must be an integer, got '{}'", where(origin, node), key,
                 text);
  if (value < min_value || value > max_value)
    return failf(Errc::invalid_argument, "{}: '{}' must be between {} and {}, got {}",
                 where(origin, node), key, min_value, max_value, value);
  return value;
}

Result<bool> as_bool(std::string_view origin, const YAML::Node& node, std::string_view key) {
  if (!node.IsScalar() || (node.Scalar() != "true" && node.Scalar() != "false"))
    return failf(Errc::parse, "{}: '{}' must be true or false", where(origin, node), key);
  return node.Scalar() == "true";
}

// A list of strings; `check` sees each item with its node for the error position.
using ItemCheck = std::function<Status(const YAML::Node& item, const std::string& value)>;
Result<std::vector<std::string>> as_string_list(std::string_view origin, const YAML::Node& node,
                                                std::string_view key,
                                                const ItemCheck& check = nullptr) {
  if (!node.IsSequence())
    return failf(Errc::parse, "{}: '{}' must be a list of strings", where(origin, node), key);
  std::vector<std::string> out;
  for (const auto& item : node) {
    RAIND_TRY_ASSIGN(auto value, as_string(origin, item, key));
    if (check) RAIND_TRY(check(item, value));
    out.push_back(std::move(value));
  }
  return out;
}

// An error from a value parser, re-anchored at the node it came from.
std::unexpected<Error> at(std::string_view origin, const YAML::Node& node, std::string_view key,
                          const Error& error) {
  return failf(error.code(), "{}: '{}': {}", where(origin, node), key, error.what());
}

// ---- the parser ---------------------------------------------------------------------------

struct DependencyRef {
  YAML::Node name;                      // the list item or mapping key naming the dependency
  std::optional<YAML::Node> condition;  // the condition value, when given
};

// A default-constructed YAML::Node counts as present (a null node), hence optionals for
// "was this key given".
using Given = std::optional<YAML::Node>;

class Parser {
 public:
  Parser(std::string_view origin, const ParseOptions& options)
      : origin_(origin), options_(options) {}

  Result<Bottle> parse(const YAML::Node& root) {
    if (!root || root.IsNull())
      return failf(Errc::invalid_argument,
                   "{}:1:1: the file is empty (expected 'bottle' and "
                   "'services')",
                   origin_);
    Given bottle_node, services_node, policies_node;
    RAIND_TRY(check_map(origin_, root, "",
                        {{"bottle", [&](const YAML::Node& n) { return keep(bottle_node, n); }},
                         {"services", [&](const YAML::Node& n) { return keep(services_node, n); }},
                         {"policies", [&](const YAML::Node& n) { return keep(policies_node, n); }}},
                        {"policies"}));
    if (!bottle_node)
      return failf(Errc::invalid_argument, "{}: 'bottle.name' is required", where(origin_, root));
    RAIND_TRY(parse_bottle_section(*bottle_node));
    if (!services_node || services_node->IsNull() ||
        (services_node->IsMap() && services_node->size() == 0))
      return failf(Errc::invalid_argument, "{}: 'services' must name at least one service",
                   where(origin_, services_node ? *services_node : root));
    RAIND_TRY(parse_services(*services_node));
    RAIND_TRY(check_dependencies());
    if (policies_node && !policies_node->IsNull()) RAIND_TRY(parse_policies(*policies_node));
    return std::move(bottle_);
  }

 private:
  static Status keep(Given& slot, const YAML::Node& node) {
    slot.emplace(node);
    return ok();
  }

  Status parse_bottle_section(const YAML::Node& node) {
    Given name_node;
    RAIND_TRY(check_map(origin_, node, "bottle",
                        {{"name", [&](const YAML::Node& n) -> Status {
                            RAIND_TRY_ASSIGN(bottle_.name, as_string(origin_, n, "bottle.name"));
                            name_node.emplace(n);
                            return ok();
                          }}}));
    if (!name_node)
      return failf(Errc::invalid_argument, "{}: 'bottle.name' is required", where(origin_, node));
    if (auto valid = validate_bottle_name(bottle_.name); !valid)
      return at(origin_, *name_node, "bottle.name", valid.error());
    return ok();
  }

  Status parse_services(const YAML::Node& node) {
    if (!node.IsMap())
      return failf(Errc::parse, "{}: 'services' must be a mapping of service names",
                   where(origin_, node));
    RAIND_TRY(check_name_keys(origin_, node, "services"));
    for (const auto& item : node) {
      Service service;
      service.name = item.first.Scalar();
      if (auto valid = validate_service_name(service.name); !valid)
        return failf(Errc::invalid_argument, "{}: {}", where(origin_, item.first),
                     valid.error().what());
      if (item.second.IsNull())
        return failf(Errc::parse, "{}: 'services.{}' has no value (expected at least 'image')",
                     where(origin_, item.first), service.name);
      service.container = container_name(bottle_.name, service.name);
      if (auto valid = containers::validate_container_name(service.container); !valid)
        return failf(Errc::invalid_argument, "{}: service '{}': {}", where(origin_, item.first),
                     service.name, valid.error().what());
      RAIND_TRY(parse_service(item.first, item.second, service));
      bottle_.services.push_back(std::move(service));
    }
    std::sort(bottle_.services.begin(), bottle_.services.end(),
              [](const Service& a, const Service& b) { return a.name < b.name; });
    return ok();
  }

  Status parse_service(const YAML::Node& key, const YAML::Node& node, Service& s) {
    const std::string section = "services." + s.name;
    auto name = [&](std::string_view field) { return join_key(section, field); };
    bool has_image = false;
    std::map<std::string, Field, std::less<>> fields{
        {"image",
         [&](const YAML::Node& n) -> Status {
           RAIND_TRY_ASSIGN(s.image, as_nonempty_string(origin_, n, name("image")));
           has_image = true;
           return ok();
         }},
        {"command",
         [&](const YAML::Node& n) -> Status {
           RAIND_TRY_ASSIGN(s.command, as_string_list(origin_, n, name("command")));
           return ok();
         }},
        {"env",
         [&](const YAML::Node& n) -> Status {
           RAIND_TRY_ASSIGN(s.env, as_string_list(origin_, n, name("env"), env_check(name("env"))));
           return ok();
         }},
        {"ports",
         [&](const YAML::Node& n) -> Status {
           RAIND_TRY_ASSIGN(s.ports,
                            as_string_list(origin_, n, name("ports"), port_check(name("ports"))));
           return ok();
         }},
        {"mount",
         [&](const YAML::Node& n) -> Status {
           RAIND_TRY_ASSIGN(s.mounts,
                            as_string_list(origin_, n, name("mount"), mount_check(name("mount"))));
           return ok();
         }},
        {"network",
         [&](const YAML::Node& n) -> Status {
           RAIND_TRY_ASSIGN(s.network, as_string(origin_, n, name("network")));
           if (auto valid = network::validate_network_name(s.network); !valid)
             return at(origin_, n, name("network"), valid.error());
           return ok();
         }},
        {"tty",
         [&](const YAML::Node& n) -> Status {
           RAIND_TRY_ASSIGN(s.tty, as_bool(origin_, n, name("tty")));
           return ok();
         }},
        {"depends_on", [&](const YAML::Node& n) { return parse_depends_on(n, s, section); }},
        {"memory",
         [&](const YAML::Node& n) -> Status {
           RAIND_TRY_ASSIGN(auto text, as_string(origin_, n, name("memory")));
           auto bytes = parse_memory_size(text);
           if (!bytes) return at(origin_, n, name("memory"), bytes.error());
           if (*bytes < containers::kMinMemoryBytes)
             return failf(Errc::invalid_argument,
                          "{}: '{}': {} bytes is below the minimum of {} (6 MiB)",
                          where(origin_, n), name("memory"), *bytes, containers::kMinMemoryBytes);
           s.memory_bytes = *bytes;
           return ok();
         }},
        {"cpus",
         [&](const YAML::Node& n) -> Status {
           if (!n.IsScalar())
             return failf(Errc::parse, "{}: '{}' must be a number", where(origin_, n),
                          name("cpus"));
           const std::string& text = n.Scalar();
           double cpus = 0;
           auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), cpus);
           if (text.empty() || ec != std::errc() || ptr != text.data() + text.size())
             return failf(Errc::parse, "{}: '{}' must be a number, got '{}'", where(origin_, n),
                          name("cpus"), text);
           if (!(cpus >= 0.01 && cpus <= 1024))
             return failf(Errc::invalid_argument, "{}: '{}' must be between 0.01 and 1024, got {}",
                          where(origin_, n), name("cpus"), text);
           s.cpus = cpus;
           return ok();
         }},
        {"pids_limit",
         [&](const YAML::Node& n) -> Status {
           RAIND_TRY_ASSIGN(s.pids_limit,
                            as_int(origin_, n, name("pids_limit"), 1, std::int64_t{1} << 22));
           return ok();
         }},
        {"restart",
         [&](const YAML::Node& n) -> Status {
           RAIND_TRY_ASSIGN(auto text, as_nonempty_string(origin_, n, name("restart")));
           auto restart = containers::parse_restart_policy(text);
           if (!restart) return at(origin_, n, name("restart"), restart.error());
           s.restart = *restart;
           return ok();
         }},
        {"healthcheck",
         [&](const YAML::Node& n) -> Status {
           RAIND_TRY_ASSIGN(s.healthcheck, parse_healthcheck(n, name("healthcheck")));
           return ok();
         }},
    };
    RAIND_TRY(check_map(origin_, node, section, fields));
    if (!has_image)
      return failf(Errc::invalid_argument, "{}: service '{}': 'image' is required",
                   where(origin_, key), s.name);
    return ok();
  }

  ItemCheck env_check(std::string key) const {
    return [this, key](const YAML::Node& item, const std::string& e) -> Status {
      if (e.empty() || e.front() == '=' || e.find('=') == std::string::npos)
        return failf(Errc::invalid_argument, "{}: '{}': '{}' is not KEY=VALUE",
                     where(origin_, item), key, e);
      return ok();
    };
  }

  // Ports stay strings (the container request parser reads them again); the syntax is checked
  // here for a positioned error, and no two services may publish the same host port.
  ItemCheck port_check(std::string key) {
    return [this, key](const YAML::Node& item, const std::string& text) -> Status {
      auto spec = containers::parse_port_spec(text);
      if (!spec) return at(origin_, item, key, spec.error());
      for (const auto& [other, other_text] : published_)
        if (containers::ports_conflict(*spec, other))
          return failf(Errc::invalid_argument,
                       "{}: '{}': '{}' publishes the same host port as '{}'", where(origin_, item),
                       key, text, other_text);
      published_.emplace_back(*spec, text);
      return ok();
    };
  }

  // "/host:/ctr[:ro|rw]": both paths absolute. The volume guard (which resolves symlinks on the
  // host) runs when the container is created.
  ItemCheck mount_check(std::string key) const {
    auto destinations = std::make_shared<std::set<std::string>>();
    return [this, key, destinations](const YAML::Node& item, const std::string& text) -> Status {
      auto request = containers::parse_volume_spec(text);
      if (!request) return at(origin_, item, key, request.error());
      if (!request->source.starts_with('/'))
        return failf(Errc::invalid_argument, "{}: '{}': host path '{}' must be absolute",
                     where(origin_, item), key, request->source);
      auto destination = containers::normalize_container_path(request->destination);
      if (!destination) return at(origin_, item, key, destination.error());
      if (!destinations->insert(*destination).second)
        return failf(Errc::invalid_argument, "{}: '{}': '{}' is mounted twice",
                     where(origin_, item), key, *destination);
      return ok();
    };
  }

  Result<Healthcheck> parse_healthcheck(const YAML::Node& node, const std::string& section) {
    Healthcheck check;
    bool has_command = false;
    RAIND_TRY(check_map(origin_, node, section,
                        {{"command",
                          [&](const YAML::Node& n) -> Status {
                            const auto key = join_key(section, "command");
                            RAIND_TRY_ASSIGN(check.command, as_string_list(origin_, n, key));
                            if (check.command.empty() || check.command.front().empty())
                              return failf(Errc::invalid_argument, "{}: '{}' must name a program",
                                           where(origin_, n), key);
                            has_command = true;
                            return ok();
                          }},
                         {"interval",
                          [&](const YAML::Node& n) -> Status {
                            const auto key = join_key(section, "interval");
                            RAIND_TRY_ASSIGN(auto text, as_string(origin_, n, key));
                            auto interval = parse_duration(text);
                            if (!interval) return at(origin_, n, key, interval.error());
                            check.interval = *interval;
                            return ok();
                          }},
                         {"retries", [&](const YAML::Node& n) -> Status {
                            RAIND_TRY_ASSIGN(
                                auto retries,
                                as_int(origin_, n, join_key(section, "retries"), 1, 1000));
                            check.retries = static_cast<int>(retries);
                            return ok();
                          }}}));
    if (!has_command)
      return failf(Errc::invalid_argument, "{}: '{}' is required", where(origin_, node),
                   join_key(section, "command"));
    return check;
  }

  // depends_on: [a, b] (each service_started) or {a: {condition: service_healthy}, b: null}.
  Status parse_depends_on(const YAML::Node& node, Service& s, const std::string& section) {
    const std::string key = join_key(section, "depends_on");
    auto add = [&](const YAML::Node& name_node, DependencyCondition condition,
                   const Given& condition_node) -> Status {
      RAIND_TRY_ASSIGN(auto dep, as_string(origin_, name_node, key));
      if (dep == s.name)
        return failf(Errc::invalid_argument,
                     "{}: invalid dependency: service '{}' depends on "
                     "itself",
                     where(origin_, name_node), s.name);
      if (s.depends_on_service(dep))
        return failf(Errc::invalid_argument, "{}: '{}': '{}' is listed twice",
                     where(origin_, name_node), key, dep);
      s.depends_on.push_back({dep, condition});
      dependency_refs_[{s.name, dep}] = {name_node, condition_node};
      return ok();
    };
    if (node.IsSequence()) {
      for (const auto& item : node)
        RAIND_TRY(add(item, DependencyCondition::service_started, std::nullopt));
    } else if (node.IsMap()) {
      RAIND_TRY(check_name_keys(origin_, node, key));
      for (const auto& item : node) {
        const std::string dep_section = join_key(key, item.first.Scalar());
        DependencyCondition condition = DependencyCondition::service_started;
        Given condition_node;
        if (!item.second.IsNull()) {
          RAIND_TRY(check_map(origin_, item.second, dep_section,
                              {{"condition", [&](const YAML::Node& n) -> Status {
                                  const auto ckey = join_key(dep_section, "condition");
                                  RAIND_TRY_ASSIGN(auto text, as_string(origin_, n, ckey));
                                  auto parsed = parse_condition(text);
                                  if (!parsed) return at(origin_, n, ckey, parsed.error());
                                  condition = *parsed;
                                  condition_node.emplace(n);
                                  return ok();
                                }}}));
        }
        RAIND_TRY(add(item.first, condition, condition_node));
      }
    } else {
      return failf(Errc::parse,
                   "{}: '{}' must be a list of service names or a mapping of service names to "
                   "{{condition: ...}}",
                   where(origin_, node), key);
    }
    std::sort(s.depends_on.begin(), s.depends_on.end(),
              [](const Dependency& a, const Dependency& b) { return a.service < b.service; });
    return ok();
  }

  // Unknown services, healthy-conditions on services without a healthcheck, cycles; then the
  // start order. Checked in file order of the dependency entries where possible.
  Status check_dependencies() {
    DependencyGraph graph;
    std::vector<std::pair<YAML::Mark, std::pair<std::string, std::string>>> in_file_order;
    for (const auto& [edge, ref] : dependency_refs_)
      in_file_order.emplace_back(ref.name.Mark(), edge);
    std::sort(in_file_order.begin(), in_file_order.end(), [](const auto& a, const auto& b) {
      return std::pair(a.first.pos, a.second) < std::pair(b.first.pos, b.second);
    });
    for (const auto& [mark, edge] : in_file_order) {
      const auto& [service, dep] = edge;
      const DependencyRef& ref = dependency_refs_.at(edge);
      const Service* target = bottle_.find_service(dep);
      if (!target)
        return failf(Errc::invalid_argument,
                     "{}: invalid dependency: service '{}' depends on unknown service '{}'",
                     where(origin_, mark), service, dep);
      if (ref.condition && ref.condition->Scalar() == "service_healthy" && !target->healthcheck)
        return failf(Errc::invalid_argument,
                     "{}: service '{}' waits for '{}' to be healthy, but '{}' has no healthcheck",
                     where(origin_, *ref.condition), service, dep, dep);
    }
    for (const auto& s : bottle_.services) {
      auto& deps = graph[s.name];
      for (const auto& d : s.depends_on) deps.insert(d.service);
    }
    if (auto cycle = find_cycle(graph)) {
      const auto& ref = dependency_refs_.at({(*cycle)[0], (*cycle)[1]});
      return failf(Errc::invalid_argument, "{}: invalid dependency: dependency cycle: {}",
                   where(origin_, ref.name), format_cycle(*cycle));
    }
    auto order = start_order(graph);
    if (!order) return failf(order.error().code(), "{}: {}", origin_, order.error().what());
    bottle_.start_order = *order;
    bottle_.stop_order.assign(order->rbegin(), order->rend());
    return ok();
  }

  Status parse_policies(const YAML::Node& node) {
    if (!node.IsSequence())
      return failf(Errc::parse, "{}: 'policies' must be a list", where(origin_, node));
    std::size_t index = 0;
    for (const auto& item : node) {
      RAIND_TRY(parse_policy(item, index++));
    }
    return ok();
  }

  Status parse_policy(const YAML::Node& node, std::size_t index) {
    const std::string section = fmt::format("policies[{}]", index);
    auto key = [&](std::string_view field) { return join_key(section, field); };
    BottlePolicy p;
    Given type_node, source_node, destination_node, port_node;
    std::optional<std::int64_t> port;
    RAIND_TRY(check_map(
        origin_, node, section,
        {{"type",
          [&](const YAML::Node& n) -> Status {
            RAIND_TRY_ASSIGN(auto text, as_string(origin_, n, key("type")));
            auto type = policy::parse_type(text);
            if (!type)
              return failf(Errc::invalid_argument,
                           "{}: '{}': '{}' is not east-west, north-south_observe or "
                           "north-south_enforce",
                           where(origin_, n), key("type"), text);
            p.type = *type;
            type_node.emplace(n);
            return ok();
          }},
         {"source",
          [&](const YAML::Node& n) -> Status {
            RAIND_TRY_ASSIGN(p.source, as_nonempty_string(origin_, n, key("source")));
            source_node.emplace(n);
            return ok();
          }},
         {"destination",
          [&](const YAML::Node& n) -> Status {
            RAIND_TRY_ASSIGN(p.destination, as_nonempty_string(origin_, n, key("destination")));
            destination_node.emplace(n);
            return ok();
          }},
         {"protocol",
          [&](const YAML::Node& n) -> Status {
            RAIND_TRY_ASSIGN(p.protocol, as_string(origin_, n, key("protocol")));
            if (p.protocol != "tcp" && p.protocol != "udp" && p.protocol != "icmp")
              return failf(Errc::invalid_argument, "{}: '{}': '{}' is not tcp, udp or icmp",
                           where(origin_, n), key("protocol"), p.protocol);
            return ok();
          }},
         {"dest_port",
          [&](const YAML::Node& n) -> Status {
            RAIND_TRY_ASSIGN(port, as_int(origin_, n, key("dest_port"), 1, 65535));
            port_node.emplace(n);
            return ok();
          }},
         {"comment", [&](const YAML::Node& n) -> Status {
            RAIND_TRY_ASSIGN(p.comment, as_string(origin_, n, key("comment")));
            if (p.comment.size() > 256 ||
                !std::all_of(p.comment.begin(), p.comment.end(),
                             [](unsigned char c) { return c >= 0x20 && c != 0x7f; }))
              return failf(Errc::invalid_argument,
                           "{}: '{}' must be at most 256 printable characters", where(origin_, n),
                           key("comment"));
            return ok();
          }}}));
    for (const auto& [field, n] : {std::pair{"type", type_node}, std::pair{"source", source_node},
                                   std::pair{"destination", destination_node}})
      if (!n)
        return failf(Errc::invalid_argument, "{}: '{}' is required", where(origin_, node),
                     key(field));
    if (port) {
      if (p.protocol != "tcp" && p.protocol != "udp")
        return failf(Errc::invalid_argument, "{}: '{}' needs protocol tcp or udp{}",
                     where(origin_, *port_node), key("dest_port"),
                     p.protocol.empty() ? "" : fmt::format(" (not {})", p.protocol));
      p.dport = static_cast<std::uint16_t>(*port);
    }
    RAIND_TRY_ASSIGN(p.source_service, resolve_endpoint(*source_node, key("source"), p.source));
    if (p.type == policy::PolicyType::east_west) {
      RAIND_TRY_ASSIGN(p.destination_service,
                       resolve_endpoint(*destination_node, key("destination"), p.destination));
      if (p.source == p.destination)
        return failf(Errc::invalid_argument,
                     "{}: '{}': a container does not need a policy to reach itself",
                     where(origin_, *destination_node), key("destination"));
    } else if (!policy::is_ipv4_or_cidr(p.destination)) {
      return failf(Errc::invalid_argument,
                   "{}: '{}': '{}' is not an IPv4 address or CIDR (north-south policies name "
                   "addresses{})",
                   where(origin_, *destination_node), key("destination"), p.destination,
                   bottle_.find_service(p.destination) ? "; use east-west between services" : "");
    }
    for (std::size_t i = 0; i < bottle_.policies.size(); ++i) {
      const auto& q = bottle_.policies[i];
      if (q.type == p.type && q.source == p.source && q.destination == p.destination &&
          q.protocol == p.protocol && q.dport == p.dport)
        return failf(Errc::invalid_argument, "{}: '{}' repeats policies[{}]", where(origin_, node),
                     section, i);
    }
    // The engine's own checks, so that a bottle that parses never fails at registration.
    if (auto valid = policy::validate_policy(p.to_policy(std::string(26, '0'), "bottle")); !valid)
      return at(origin_, node, section, valid.error());
    bottle_.policies.push_back(std::move(p));
    return ok();
  }

  // A policy source or east-west destination: a service becomes its container (the service
  // name is returned); anything else must be another container (see parse.hpp).
  Result<std::string> resolve_endpoint(const YAML::Node& node, const std::string& key,
                                       std::string& value) {
    if (const Service* s = bottle_.find_service(value)) {
      value = s->container;
      return s->name;
    }
    const std::string own_prefix = bottle_.name + "-";
    if (value.starts_with(own_prefix)) {
      const std::string_view rest = std::string_view(value).substr(own_prefix.size());
      if (bottle_.find_service(rest)) return std::string(rest);
      return failf(Errc::invalid_argument,
                   "{}: '{}': '{}' names no service of bottle '{}' (unknown service '{}')",
                   where(origin_, node), key, value, bottle_.name, rest);
    }
    if (policy::is_ipv4_or_cidr(value))
      return failf(Errc::invalid_argument,
                   "{}: '{}': '{}' is an address; east-west policies and sources name services "
                   "or containers",
                   where(origin_, node), key, value);
    if (auto valid = containers::validate_container_name(value); !valid)
      return failf(Errc::invalid_argument,
                   "{}: '{}': '{}' is neither a service nor a container "
                   "name ({})",
                   where(origin_, node), key, value, valid.error().what());
    if (options_.container_exists && !options_.container_exists(value))
      return failf(Errc::invalid_argument, "{}: '{}': unknown service or container '{}'",
                   where(origin_, node), key, value);
    return std::string();
  }

  std::string_view origin_;
  const ParseOptions& options_;
  Bottle bottle_;
  std::map<std::pair<std::string, std::string>, DependencyRef> dependency_refs_;
  std::vector<std::pair<containers::PortSpec, std::string>> published_;
};

}  // namespace

Result<Bottle> parse_bottle(std::string_view yaml, std::string_view origin,
                            const ParseOptions& options) {
  if (auto bad = invalid_utf8_at(yaml); bad != std::string_view::npos) {
    auto before = yaml.substr(0, bad);
    auto line = static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    auto line_start = before.rfind('\n');
    auto column =
        static_cast<int>(line_start == std::string_view::npos ? bad : bad - line_start - 1);
    return failf(Errc::parse, "{}:{}:{}: not valid UTF-8", origin, line + 1, column + 1);
  }
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return failf(Errc::parse, "{}: {}", where(origin, e.mark), e.msg);
  }
  try {
    return Parser(origin, options).parse(root);
  } catch (const YAML::Exception& e) {
    return failf(Errc::parse, "{}: {}", where(origin, e.mark), e.msg);
  }
}

}  // namespace raind::condenser::bottle

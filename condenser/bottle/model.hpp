#pragma once
// A Bottle: several containers described in one YAML file (compose-like), started in
// dependency order, plus the zero-trust policies that let them talk. This is the parsed,
// validated model (pure); the service that creates networks, containers and policies from it
// lives elsewhere. Service and dependency lists are kept in name order so that everything
// derived from a model (start order, JSON, policy ids) is the same for the same file.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "condenser/containers/record.hpp"
#include "condenser/policy/policy.hpp"
#include "raind/error.hpp"

namespace raind::condenser::bottle {

// Bottle names prefix container names: [a-z0-9][a-z0-9_.-]{0,31}.
Status validate_bottle_name(std::string_view name);
// Service names: [a-z0-9][a-z0-9_-]{0,31}.
Status validate_service_name(std::string_view name);
// "<bottle>-<service>", the name of the service's container.
std::string container_name(std::string_view bottle, std::string_view service);

enum class DependencyCondition { service_started, service_healthy };
std::string_view condition_name(DependencyCondition condition);  // "service_started"…
Result<DependencyCondition> parse_condition(std::string_view text);

struct Dependency {
  std::string service;
  DependencyCondition condition = DependencyCondition::service_started;
  friend bool operator==(const Dependency&, const Dependency&) = default;
};

inline constexpr std::chrono::milliseconds kDefaultHealthInterval{30000};
inline constexpr int kDefaultHealthRetries = 3;

struct Healthcheck {
  std::vector<std::string> command;  // argv run inside the container; exit 0 = healthy
  std::chrono::milliseconds interval = kDefaultHealthInterval;
  int retries = kDefaultHealthRetries;  // consecutive failures before "unhealthy"
  friend bool operator==(const Healthcheck&, const Healthcheck&) = default;
};

struct Service {
  std::string name;
  std::string container;  // container_name(bottle, name)
  std::string image;
  std::vector<std::string> command;  // empty: the image's
  std::vector<std::string> env;      // "K=V", as written (see resolve_env)
  std::vector<std::string> ports;    // as written; syntax checked by containers::parse_port_spec
  std::vector<std::string> mounts;   // "/host:/ctr[:ro|rw]"; the volume guard runs at create
  std::string network;               // empty: the bottle's network
  bool tty = false;
  std::vector<Dependency> depends_on;  // name order, no duplicates
  std::optional<std::int64_t> memory_bytes;
  std::optional<double> cpus;
  std::optional<std::int64_t> pids_limit;
  containers::RestartPolicy restart;
  std::optional<Healthcheck> healthcheck;

  bool depends_on_service(std::string_view service) const;
  nlohmann::json to_json() const;
  friend bool operator==(const Service&, const Service&) = default;
};

struct BottlePolicy {
  policy::PolicyType type = policy::PolicyType::east_west;
  std::string source;       // container name (a service resolved to <bottle>-<svc>)
  std::string destination;  // container name (ew) or IPv4 address / CIDR (ns)
  // The service a side named, empty when it named another container or an address: lets
  // `show` print the bottle's own words again.
  std::string source_service;
  std::string destination_service;
  std::string protocol;     // "", "tcp", "udp", "icmp"
  std::uint16_t dport = 0;  // 0: any
  std::string comment;

  // The engine's policy with the given id; `reason` says where it came from.
  policy::Policy to_policy(std::string id, std::string reason) const;
  nlohmann::json to_json() const;
  friend bool operator==(const BottlePolicy&, const BottlePolicy&) = default;
};

struct Bottle {
  std::string name;
  std::vector<Service> services;         // name order
  std::vector<std::string> start_order;  // service names, dependencies first
  std::vector<std::string> stop_order;   // start_order reversed (stop and remove)
  std::vector<BottlePolicy> policies;    // file order

  const Service* find_service(std::string_view name) const;
  // Every field of every service, both orders, and the policies with resolved names.
  nlohmann::json to_json() const;
  friend bool operator==(const Bottle&, const Bottle&) = default;
};

}  // namespace raind::condenser::bottle

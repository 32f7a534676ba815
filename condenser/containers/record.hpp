#pragma once
// What condenserd knows about one container, as stored (the `spec` column) and as the API shows
// it, plus the parsing of create requests and restart policies. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "condenser/containers/config_gen.hpp"
#include "condenser/containers/port_spec.hpp"
#include "raind/error.hpp"

namespace raind::condenser::containers {

struct RestartPolicy {
  enum class Mode { no, on_failure, always };
  Mode mode = Mode::no;
  int max_retries = 0;            // on-failure only; 0 = unlimited
  std::string to_string() const;  // "no", "always", "on-failure", "on-failure:3"
  friend bool operator==(const RestartPolicy&, const RestartPolicy&) = default;
};
Result<RestartPolicy> parse_restart_policy(std::string_view text);
// After the container exited on its own (not stopped through the API).
bool should_restart(const RestartPolicy& policy, int exit_code, int restarts_so_far);

struct CreateRequest {
  std::string image;
  std::optional<std::string> name;
  ContainerRequest process;  // volumes are filled in later, after the guard
  std::vector<std::string> volumes;
  std::vector<PortSpec> ports;
  std::string network;  // empty: the default network
  RestartPolicy restart;
  bool start = false;
  std::string bottle;  // set by the bottle service only (not part of the API body)
};
// The POST /v1/containers body (docs/api.md); unknown fields are errors.
Result<CreateRequest> parse_create_request(std::string_view body);

struct ContainerRecord {
  std::string id;
  std::string name;
  std::string image;     // the reference as resolved in the image store
  std::string image_id;  // config digest hex
  std::string state;     // creating | created | running | stopped | deleting
  std::int64_t pid = 0;
  std::optional<int> exit_code;
  bool oom_killed = false;
  std::vector<std::string> command;
  bool tty = false;
  std::string network;
  std::string ip;
  std::string veth;
  std::vector<PortSpec> ports;
  RestartPolicy restart;
  int restart_count = 0;
  bool stop_requested = false;  // the last exit was asked for: no restart
  std::string created_at;
  std::string started_at;
  std::string finished_at;
  std::string bottle;  // the bottle that manages it; empty: an operator's container

  nlohmann::json to_json() const;
  static Result<ContainerRecord> from_json(const nlohmann::json& document);
};

}  // namespace raind::condenser::containers

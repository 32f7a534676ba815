#pragma once
// The bottle file (YAML), parsed strictly: unknown keys, wrong types and every semantic mistake
// (unknown or cyclic dependencies, policies naming nothing) are errors that start with
// "<origin>:<line>:<column>: " pointing at the offending node. model.hpp lists the fields.
//
// Policy endpoints: a value equal to a service name is that service's container
// (<bottle>-<svc>). Any other value names a container outside the bottle and must be a valid
// container name (not an address). A value of the form "<bottle>-<x>" where x is not a service
// is rejected as a reference to an unknown service: it can only mean a typo, since that name is
// reserved for this bottle's own containers. North-south destinations are IPv4 addresses or
// CIDRs. The engine's short type names (ew, ns-obs, ns-enf) are accepted too.
#include <functional>
#include <string_view>

#include "condenser/bottle/model.hpp"
#include "raind/error.hpp"

namespace raind::condenser::bottle {

struct ParseOptions {
  // Whether a container outside the bottle exists, for policy endpoints that are not services.
  // Unset: any well-formed container name is accepted and checked when the policy is applied.
  std::function<bool(std::string_view name)> container_exists;
};

// Errc::parse for YAML syntax, unknown keys and wrong types; Errc::invalid_argument for values
// and relations that are wrong.
Result<Bottle> parse_bottle(std::string_view yaml, std::string_view origin,
                            const ParseOptions& options = {});

}  // namespace raind::condenser::bottle

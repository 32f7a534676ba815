#pragma once
// The request bodies of condenserd's management, CA and hook routes, decoded the way each
// handler in condenser/handlers/ decodes them (the handlers do it inline, between co_awaits on
// services): the same StrictObject reads in the same order, then the same pure parsers and
// validators. Each decoder stops where the handler would call a service.
#include <span>
#include <string_view>
#include <vector>

#include "raind/error.hpp"

namespace raind::fuzz {

struct BodyRoute {
  std::string_view name;               // the audit action, e.g. "container.create"
  std::vector<std::string_view> keys;  // every field the route reads
  bool empty_ok = false;               // an empty body counts as {}
  Status (*decode)(std::string_view body);
};

std::span<const BodyRoute> body_routes();
const BodyRoute& body_route(std::string_view name);

}  // namespace raind::fuzz

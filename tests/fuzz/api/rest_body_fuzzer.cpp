// Every JSON request body condenserd takes, through the decoding its handler does
// (route_bodies.cpp). Each input is offered to every route. Invariants: a body a route accepts
// is one JSON object (or empty where allowed) holding only fields that route reads, and a
// create request's restart policy and ports render back to what they are.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "condenser/containers/record.hpp"
#include "fuzz_check.hpp"
#include "route_bodies.hpp"

namespace containers = raind::condenser::containers;

namespace {

void check_accepted(const raind::fuzz::BodyRoute& route, std::string_view body) {
  if (body.empty()) {
    RAIND_FUZZ_CHECK(route.empty_ok);
    return;
  }
  auto doc = nlohmann::json::parse(body, nullptr, false);
  RAIND_FUZZ_CHECK(!doc.is_discarded() && doc.is_object());
  if (route.name == "hook.apply" || route.name == "image.import") return;
  for (const auto& [key, value] : doc.items()) {
    (void)value;
    bool known = false;
    for (auto k : route.keys) known = known || k == key;
    RAIND_FUZZ_CHECK(known);
  }
}

void check_create_request(std::string_view body) {
  auto request = containers::parse_create_request(body);
  if (!request) return;
  RAIND_FUZZ_CHECK(!request->image.empty());
  auto restart = containers::parse_restart_policy(request->restart.to_string());
  RAIND_FUZZ_CHECK(restart.has_value() && *restart == request->restart);
  for (const auto& port : request->ports) {
    RAIND_FUZZ_CHECK(port.host_port != 0 && port.container_port != 0);
    (void)port.to_string();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (const auto& route : raind::fuzz::body_routes())
    if (route.decode(body)) check_accepted(route, body);
  check_create_request(body);
  return 0;
}

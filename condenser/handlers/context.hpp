#pragma once
// What route handlers may use. Later features (containers, images, policies…) add their
// services here and register their routes in handlers/<area>.cpp.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "condenser/api/router.hpp"
#include "condenser/bottle/bottle_service.hpp"
#include "condenser/containers/service.hpp"
#include "condenser/images/store.hpp"
#include "condenser/metrics/service.hpp"
#include "condenser/pki/pki.hpp"
#include "condenser/policy/service.hpp"
#include "condenser/registry/image_service.hpp"
#include "condenser/store/store.hpp"
#include "condenser/system/probe.hpp"

namespace raind::condenser::handlers {

struct HandlerContext {
  store::Store& store;
  pki::Pki& pki;
  system::HostFacts host;
  images::ImageStore* images = nullptr;  // <state_dir>/images
  containers::ContainerService* containers = nullptr;
  registry::ImageService* registry = nullptr;  // pulls, logins, garbage collection
  policy::PolicyService* policies = nullptr;
  std::string node;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  // Called after a successful rotation so new connections use the new server certificate.
  std::function<Status()> on_rotated;
  // Hook events after authorisation (later issues: container state sync). Default: accept.
  std::function<boost::asio::awaitable<api::ApiResponse>(api::ApiRequest&, std::string event,
                                                         const store::ContainerRow&)>
      on_hook;
  std::filesystem::path log_dir;                  // raind_<kind>.jsonl for GET /v1/logs
  metrics::MetricsService* metrics = nullptr;     // GET /v1/metrics
  std::function<nlohmann::json()> observability;  // pipeline counters for system info
  bottle::BottleService* bottles = nullptr;
};

void add_system_routes(api::Router& management, HandlerContext& ctx);
void add_pki_routes(api::Router& management, api::Router& ca, HandlerContext& ctx);
void add_hook_routes(api::Router& hooks, HandlerContext& ctx);
void add_image_routes(api::Router& management, HandlerContext& ctx);
void add_container_routes(api::Router& management, HandlerContext& ctx);
void add_policy_routes(api::Router& management, HandlerContext& ctx);
void add_log_routes(api::Router& management, HandlerContext& ctx);
void add_bottle_routes(api::Router& management, HandlerContext& ctx);

}  // namespace raind::condenser::handlers

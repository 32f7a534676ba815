#include "condenser/api/envelope.hpp"
#include "condenser/handlers/context.hpp"

namespace raind::condenser::handlers {

using api::ApiRequest;
using api::ApiResponse;
using boost::asio::awaitable;

void add_system_routes(api::Router& management, HandlerContext& ctx) {
  management.add("GET", "/v1/system/info", "system.info", api::Severity::information,
                 [&ctx](ApiRequest&) -> awaitable<ApiResponse> {
                   auto counts = ctx.store.counts();
                   if (!counts) co_return api::failure(counts.error());
                   auto schema = ctx.store.schema_version();
                   const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::steady_clock::now() - ctx.started);
                   nlohmann::json data{
                       {"version", RAIND_VERSION},
                       {"node", ctx.node},
                       {"kernel", ctx.host.kernel},
                       {"cgroup_mode", ctx.host.cgroup_mode},
                       {"iptables_backend", ctx.host.iptables_backend},
                       {"iptables_version", ctx.host.iptables_version},
                       {"apparmor", ctx.host.apparmor},
                       {"schema_version", schema ? *schema : 0},
                       {"uptime_s", uptime.count()},
                       {"counts",
                        {{"containers", counts->containers},
                         {"images", counts->images},
                         {"policies", counts->policies},
                         {"certificates", counts->certificates}}},
                   };
                   // Flow-log, DNS and metrics pipelines: records handled, dropped, malformed.
                   if (ctx.observability) data["observability"] = ctx.observability();
                   co_return api::success("system info", std::move(data));
                 });
}

}  // namespace raind::condenser::handlers

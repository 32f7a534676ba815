#include "condenser/api/authz.hpp"
#include "condenser/api/envelope.hpp"
#include "condenser/handlers/context.hpp"

#include <array>

namespace raind::condenser::handlers {

using api::ApiRequest;
using api::ApiResponse;
using boost::asio::awaitable;

void add_hook_routes(api::Router& hooks, HandlerContext& ctx) {
  hooks.add("POST", "/v1/hooks/droplet", "hook.apply", api::Severity::medium,
            [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
              static constexpr std::array<std::string_view, 5> kEvents{
                  "createRuntime", "createContainer", "poststart", "stopContainer", "poststop"};
              const std::string event = req.header("x-hook-event");
              if (event.empty()) co_return api::failure(400, "missing X-Hook-Event header");
              if (std::find(kEvents.begin(), kEvents.end(), event) == kEvents.end())
                co_return api::failure(400, fmt::format("unknown hook event '{}'", event));
              req.audit_action = "hook." + event;
              // The OCI state JSON is droplet's format, not ours: read it tolerantly, but the
              // id must be there and must be the caller's own container.
              auto state = nlohmann::json::parse(req.body, nullptr, false);
              if (state.is_discarded() || !state.is_object())
                co_return api::failure(400, "invalid json: body is not a json object");
              auto id_it = state.find("id");
              if (id_it == state.end() || !id_it->is_string())
                co_return api::failure(400, "invalid json: field 'id' must be a string");
              const std::string id = id_it->get<std::string>();
              req.audit_target["container_id"] = id;
              if (auto s = api::check_container_identity(req.identity, id); !s)
                co_return api::failure(s.error());
              auto container = ctx.store.find_container(id);
              if (!container) co_return api::failure(container.error());
              if (!*container)
                co_return api::failure(403, fmt::format("validate failed: container '{}' does "
                                                        "not exist",
                                                        id));
              req.audit_target["container_name"] = (*container)->name;
              if (ctx.on_hook) co_return co_await ctx.on_hook(req, event, **container);
              co_return api::success("hook applied");
            });
}

}  // namespace raind::condenser::handlers

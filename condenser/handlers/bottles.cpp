// Bottles: POST /v1/bottles (the YAML file as the body), GET /v1/bottles, GET /v1/bottles/{name},
// POST /v1/bottles/{name}/start|stop, DELETE /v1/bottles/{name}.
#include "condenser/api/envelope.hpp"
#include "condenser/bottle/bottle_service.hpp"
#include "condenser/handlers/context.hpp"

namespace raind::condenser::handlers {
namespace {

using api::ApiRequest;
using api::ApiResponse;
using boost::asio::awaitable;

void audit_bottle(ApiRequest& req, const std::string& name) {
  req.audit_target["bottle"] = name;
}

}  // namespace

void add_bottle_routes(api::Router& management, HandlerContext& ctx) {
  management.add("POST", "/v1/bottles", "bottle.create", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.bottles) co_return api::failure(503, "bottles are not available");
                   // The client names the file so errors point at it ("app.yaml:3:5: …").
                   std::string origin = api::query_value(req.query, "file").value_or("");
                   std::string yaml = req.body;
                   auto made = co_await ctx.bottles->create(std::move(yaml), std::move(origin));
                   if (!made) co_return api::failure(made.error());
                   audit_bottle(req, made->record.name);
                   co_return api::success("bottle created", made->to_json(), 201);
                 });
  management.add("GET", "/v1/bottles", "bottle.list", api::Severity::information,
                 [&ctx](ApiRequest&) -> awaitable<ApiResponse> {
                   if (!ctx.bottles) co_return api::failure(503, "bottles are not available");
                   auto all = ctx.bottles->list();
                   if (!all) co_return api::failure(all.error());
                   nlohmann::json out = nlohmann::json::array();
                   for (const auto& v : *all) out.push_back(v.to_json());
                   co_return api::success("bottles", std::move(out));
                 });
  management.add("GET", "/v1/bottles/{name}", "bottle.inspect", api::Severity::information,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.bottles) co_return api::failure(503, "bottles are not available");
                   audit_bottle(req, req.params["name"]);
                   auto v = ctx.bottles->show(req.params["name"]);
                   if (!v) co_return api::failure(v.error());
                   co_return api::success("bottle", v->to_json());
                 });
  management.add("POST", "/v1/bottles/{name}/start", "bottle.start", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.bottles) co_return api::failure(503, "bottles are not available");
                   audit_bottle(req, req.params["name"]);
                   auto v = co_await ctx.bottles->start(req.params["name"]);
                   if (!v) co_return api::failure(v.error());
                   co_return api::success("bottle started", v->to_json());
                 });
  management.add("POST", "/v1/bottles/{name}/stop", "bottle.stop", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.bottles) co_return api::failure(503, "bottles are not available");
                   audit_bottle(req, req.params["name"]);
                   auto v = co_await ctx.bottles->stop(req.params["name"]);
                   if (!v) co_return api::failure(v.error());
                   co_return api::success("bottle stopped", v->to_json());
                 });
  management.add("DELETE", "/v1/bottles/{name}", "bottle.delete", api::Severity::high,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.bottles) co_return api::failure(503, "bottles are not available");
                   audit_bottle(req, req.params["name"]);
                   auto removed = co_await ctx.bottles->remove(req.params["name"]);
                   if (!removed) co_return api::failure(removed.error());
                   co_return api::success("bottle removed", {{"name", req.params["name"]}});
                 });
}

}  // namespace raind::condenser::handlers

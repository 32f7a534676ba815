// Policies: stage (add, remove, north-south mode), list with statuses, commit (compile and
// apply atomically), revert. Audit actions policy.add / policy.delete / policy.commit /
// policy.revert / policy.mode.change.
#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include "condenser/api/envelope.hpp"
#include "condenser/api/strict_json.hpp"
#include "condenser/handlers/context.hpp"

namespace raind::condenser::handlers {

using api::ApiRequest;
using api::ApiResponse;
using boost::asio::awaitable;

namespace {

nlohmann::json view_json(const policy::PolicyView& v) {
  auto j = policy::to_json(v.policy);
  j["action"] = policy::action_name(v.policy.type);
  j["status"] = policy::status_name(v.status);
  j["flag"] = policy::status_flag(v.status);
  if (!v.status_reason.empty()) j["status_reason"] = v.status_reason;
  return j;
}

}  // namespace

void add_policy_routes(api::Router& management, HandlerContext& ctx) {
  management.add("GET", "/v1/policies", "policy.list", api::Severity::information,
                 [&ctx](ApiRequest&) -> awaitable<ApiResponse> {
                   if (!ctx.policies)
                     co_return api::failure(503, "the policy engine is not available");
                   auto listing = ctx.policies->list();
                   nlohmann::json list = nlohmann::json::array();
                   for (const auto& v : listing.policies) list.push_back(view_json(v));
                   nlohmann::json data = {{"revision", listing.revision},
                                          {"mode", policy::mode_name(listing.mode)},
                                          {"policies", std::move(list)}};
                   if (listing.next_mode) data["next_mode"] = policy::mode_name(*listing.next_mode);
                   co_return api::success("policies", std::move(data));
                 });

  management.add("POST", "/v1/policies", "policy.add", api::Severity::high,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.policies)
                     co_return api::failure(503, "the policy engine is not available");
                   auto body = api::StrictObject::parse(req.body);
                   if (!body) co_return api::failure(400, body.error().what());
                   auto type = body->required_string("type");
                   auto source = body->required_string("source");
                   auto destination = body->required_string("destination");
                   auto protocol = body->optional_string("protocol");
                   auto dport = body->optional_int("dport");
                   auto comment = body->optional_string("comment");
                   auto reason = body->optional_string("reason");
                   for (const auto* f : {&type, &source, &destination})
                     if (!*f) co_return api::failure(400, f->error().what());
                   for (const auto* f : {&protocol, &comment, &reason})
                     if (!*f) co_return api::failure(400, f->error().what());
                   if (!dport) co_return api::failure(400, dport.error().what());
                   if (auto done = body->finish(); !done)
                     co_return api::failure(400, done.error().what());
                   policy::Policy p;
                   auto parsed_type = policy::parse_type(*type);
                   if (!parsed_type) co_return api::failure(400, parsed_type.error().what());
                   p.type = *parsed_type;
                   p.source = *source;
                   p.destination = *destination;
                   p.protocol = protocol->value_or("");
                   std::int64_t port = dport->value_or(0);
                   if (port < 0 || port > 65535)
                     co_return api::failure(400,
                                            fmt::format("dport: {} is not a port (1-65535)", port));
                   p.dport = static_cast<std::uint16_t>(port);
                   p.comment = comment->value_or("");
                   p.reason = reason->value_or("");
                   auto added = ctx.policies->add(p);
                   if (!added) co_return api::failure(added.error());
                   co_return api::success("policy staged: it takes effect at the next commit",
                                          policy::to_json(*added), 201);
                 });

  management.add("DELETE", "/v1/policies/{id}", "policy.delete", api::Severity::high,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.policies)
                     co_return api::failure(503, "the policy engine is not available");
                   auto removed = ctx.policies->remove(req.params["id"]);
                   if (!removed) co_return api::failure(removed.error());
                   co_return api::success(
                       "policy removal staged: it takes effect at the next commit",
                       policy::to_json(*removed));
                 });

  management.add("POST", "/v1/policies/commit", "policy.commit", api::Severity::high,
                 [&ctx](ApiRequest&) -> awaitable<ApiResponse> {
                   if (!ctx.policies)
                     co_return api::failure(503, "the policy engine is not available");
                   auto committed = ctx.policies->commit();
                   if (!committed) co_return api::failure(committed.error());
                   co_return api::success("policies committed",
                                          {{"revision", committed->revision},
                                           {"rules", committed->rules},
                                           {"unresolved", committed->unresolved}});
                 });

  management.add("POST", "/v1/policies/revert", "policy.revert", api::Severity::medium,
                 [&ctx](ApiRequest&) -> awaitable<ApiResponse> {
                   if (!ctx.policies)
                     co_return api::failure(503, "the policy engine is not available");
                   if (auto s = ctx.policies->revert(); !s) co_return api::failure(s.error());
                   co_return api::success("staged changes discarded");
                 });

  management.add("POST", "/v1/policies/ns/mode", "policy.mode.change", api::Severity::high,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.policies)
                     co_return api::failure(503, "the policy engine is not available");
                   auto body = api::StrictObject::parse(req.body);
                   if (!body) co_return api::failure(400, body.error().what());
                   auto mode_text = body->required_string("mode");
                   if (!mode_text) co_return api::failure(400, mode_text.error().what());
                   if (auto done = body->finish(); !done)
                     co_return api::failure(400, done.error().what());
                   auto mode = policy::parse_mode(*mode_text);
                   if (!mode) co_return api::failure(400, mode.error().what());
                   if (auto s = ctx.policies->set_mode(*mode); !s)
                     co_return api::failure(s.error());
                   co_return api::success(
                       "north-south mode staged: it takes effect at the next commit",
                       {{"mode", policy::mode_name(*mode)}});
                 });
}

}  // namespace raind::condenser::handlers

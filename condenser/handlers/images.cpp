// Local images: import an OCI layout or docker-archive tarball from a path on this host, list,
// inspect and remove.
#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include "condenser/api/envelope.hpp"
#include "condenser/handlers/context.hpp"
#include "condenser/images/import.hpp"
#include "condenser/images/reference.hpp"

namespace raind::condenser::handlers {

using api::ApiRequest;
using api::ApiResponse;
using boost::asio::awaitable;

namespace {

nlohmann::json image_json(const images::ImageRecord& r) {
  std::string name = r.reference;
  if (auto ref = images::parse_reference(r.reference)) name = ref->familiar();
  return {{"id", r.id().substr(0, 12)},
          {"full_id", r.id()},
          {"reference", name},
          {"canonical", r.reference},
          {"manifest_digest", r.manifest_digest},
          {"config_digest", r.config_digest},
          {"layers", r.diff_ids.size()},
          {"created_unix", r.created_unix}};
}

unsigned status_of(const Error& e) {
  switch (e.code()) {
    case Errc::not_found:
      return 404;
    case Errc::invalid_argument:
    case Errc::parse:
    case Errc::integrity:
    case Errc::unsupported:
      return 400;
    default:
      return 500;
  }
}

}  // namespace

void add_image_routes(api::Router& management, HandlerContext& ctx) {
  management.add(
      "POST", "/v1/images/import", "image.import", api::Severity::medium,
      [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
        if (!ctx.images) co_return api::failure(503, "the image store is not available");
        auto body = nlohmann::json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object())
          co_return api::failure(400, "body: expected a JSON object");
        for (auto it = body.begin(); it != body.end(); ++it)
          if (it.key() != "path" && it.key() != "reference")
            co_return api::failure(400, "body: unknown field \"" + it.key() + "\"");
        if (!body.contains("path") || !body["path"].is_string())
          co_return api::failure(400, "body.path: required string (a tarball on this host)");
        std::filesystem::path path = body["path"].get<std::string>();
        if (!path.is_absolute())
          co_return api::failure(400, "body.path: \"" + path.string() + "\" is not absolute");
        std::optional<std::string> reference;
        if (body.contains("reference")) {
          if (!body["reference"].is_string())
            co_return api::failure(400, "body.reference: expected a string");
          reference = body["reference"].get<std::string>();
          if (auto parsed = images::parse_reference(*reference); !parsed)
            co_return api::failure(400, "body.reference: " + parsed.error().what());
        }
        // Runs on the API thread: fine for local tarballs of a few MiB, the registry client
        // (issue 7) moves pulls and unpacking to a worker pool.
        std::optional<std::string_view> ref;
        if (reference) ref = *reference;
        auto imported = images::import_archive(*ctx.images, path, ref);
        if (!imported) co_return api::failure(status_of(imported.error()), imported.error().what());
        nlohmann::json data = nlohmann::json::array();
        for (const auto& r : *imported) data.push_back(image_json(r));
        co_return api::success("image imported", std::move(data), 201);
      },
      4096);

  management.add("GET", "/v1/images", "image.list", api::Severity::information,
                 [&ctx](ApiRequest&) -> awaitable<ApiResponse> {
                   if (!ctx.images) co_return api::failure(503, "the image store is not available");
                   auto list = ctx.images->list_images();
                   if (!list) co_return api::failure(list.error());
                   nlohmann::json data = nlohmann::json::array();
                   for (const auto& r : *list) data.push_back(image_json(r));
                   co_return api::success("images", std::move(data));
                 });

  management.add("GET", "/v1/images/{name}", "image.inspect", api::Severity::information,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.images) co_return api::failure(503, "the image store is not available");
                   auto found = ctx.images->find_image(req.params["name"]);
                   if (!found)
                     co_return api::failure(status_of(found.error()), found.error().what());
                   auto data = image_json(*found);
                   data["diff_ids"] = found->diff_ids;
                   data["layer_digests"] = found->layer_digests;
                   co_return api::success("image", std::move(data));
                 });

  management.add("DELETE", "/v1/images/{name}", "image.remove", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.images) co_return api::failure(503, "the image store is not available");
                   auto removed = ctx.images->remove_image(req.params["name"]);
                   if (!removed)
                     co_return api::failure(status_of(removed.error()), removed.error().what());
                   nlohmann::json data = nlohmann::json::array();
                   for (const auto& r : *removed) data.push_back(image_json(r));
                   co_return api::success("image removed", std::move(data));
                 });
}

}  // namespace raind::condenser::handlers

// Images: pull from registries (progress streamed as JSON lines), login/logout, import and
// export of tarballs on this host, list, inspect, remove (refused while containers use the
// image) and prune; unreferenced blobs and layers are collected after every removal.
#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include "condenser/api/envelope.hpp"
#include "condenser/handlers/context.hpp"
#include "condenser/api/strict_json.hpp"
#include "condenser/images/export.hpp"
#include "condenser/images/import.hpp"
#include "condenser/images/oci_manifest.hpp"
#include "condenser/images/reference.hpp"
#include "condenser/registry/pull.hpp"

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

// As everywhere, except: a bad digest or an unsupported manifest is the image's fault (400),
// and an unreachable registry is a bad gateway, not this daemon being unavailable.
unsigned status_of(const Error& e) {
  switch (e.code()) {
    case Errc::integrity:
    case Errc::unsupported:
      return 400;
    case Errc::unavailable:
      return 502;
    default:
      return api::status_for(e.code());
  }
}

// Containers (any state) created from an image id: their names, for the 409 of a removal.
std::vector<std::string> containers_using(HandlerContext& ctx, const std::string& image_id) {
  std::vector<std::string> names;
  if (!ctx.containers) return names;
  auto list = ctx.containers->list(true);
  if (!list) return names;
  for (const auto& c : *list)
    if (c.image_id == image_id) names.push_back(c.name);
  return names;
}

// Configs of the images existing containers run: their layers survive garbage collection even
// when no tag names the image any more.
std::vector<std::string> configs_in_use(HandlerContext& ctx) {
  std::vector<std::string> configs;
  if (!ctx.containers) return configs;
  if (auto list = ctx.containers->list(true))
    for (const auto& c : *list)
      if (!c.image_id.empty()) configs.push_back("sha256:" + c.image_id);
  return configs;
}

nlohmann::json gc_json(const images::ImageStore::GcStats& stats) {
  return {{"blobs_removed", stats.blobs_removed},
          {"layers_removed", stats.layers_removed},
          {"partials_removed", stats.partials_removed},
          {"bytes_freed", stats.bytes_freed}};
}

}  // namespace

void add_image_routes(api::Router& management, HandlerContext& ctx) {
  management.add("POST", "/v1/images/pull", "image.pull", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.images || !ctx.registry)
                     co_return api::failure(503, "the image store is not available");
                   auto body = api::StrictObject::parse(req.body);
                   if (!body) co_return api::failure(400, body.error().what());
                   auto reference_text = body->required_string("reference");
                   if (!reference_text) co_return api::failure(400, reference_text.error().what());
                   auto platform_text = body->optional_string("platform");
                   if (!platform_text) co_return api::failure(400, platform_text.error().what());
                   if (auto done = body->finish(); !done)
                     co_return api::failure(400, done.error().what());
                   auto reference = images::parse_reference(*reference_text);
                   if (!reference)
                     co_return api::failure(400, "body.reference: " + reference.error().what());
                   registry::PullRequest pull;
                   pull.reference = *reference;
                   if (*platform_text) {
                     auto platform = registry::parse_platform(**platform_text);
                     if (!platform)
                       co_return api::failure(400, "body.platform: " + platform.error().what());
                     pull.platform = *platform;
                     pull.platform_explicit = true;
                   }
                   // Progress goes out as it happens: one JSON object per line, the last one either
                   // {"status":"pulled","image":…} or {"status":"error",…}.
                   ApiResponse resp;
                   resp.content_type = "application/x-ndjson";
                   resp.message = "pull " + reference->to_string();
                   resp.stream = [&ctx, pull](api::ChunkSink& sink) -> awaitable<void> {
                     bool client_here = true;
                     auto send = [&](const nlohmann::json& event) -> awaitable<void> {
                       if (client_here) client_here = co_await sink.write(event.dump() + "\n");
                     };
                     nlohmann::json first = {{"status", "resolving"},
                                             {"reference", pull.reference.to_string()}};
                     co_await send(first);
                     // A named std::function: GCC 12 mishandles conversion temporaries in co_await.
                     std::function<awaitable<void>(const nlohmann::json&)> progress = send;
                     auto result = co_await ctx.registry->pull(pull, progress);
                     if (!result) {
                       nlohmann::json failed = {{"status", "error"},
                                                {"code", errc_name(result.error().code())},
                                                {"http_status", status_of(result.error())},
                                                {"message", result.error().what()}};
                       co_await send(failed);
                       co_return;
                     }
                     auto image = image_json(result->record);
                     image["layers_downloaded"] = result->layers_downloaded;
                     image["layers_present"] = result->layers_present;
                     image["bytes_downloaded"] = result->bytes_downloaded;
                     image["endpoint"] = result->endpoint;
                     nlohmann::json pulled = {{"status", "pulled"}, {"image", image}};
                     co_await send(pulled);
                   };
                   co_return resp;
                 });

  management.add(
      "POST", "/v1/images/login", "image.login", api::Severity::high,
      [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
        if (!ctx.registry) co_return api::failure(503, "the image store is not available");
        auto body = api::StrictObject::parse(req.body);
        if (!body) co_return api::failure(400, body.error().what());
        auto registry_name = body->required_string("registry");
        auto username = body->required_string("username");
        auto password = body->required_string("password");
        for (const auto* field : {&registry_name, &username, &password})
          if (!*field) co_return api::failure(400, field->error().what());
        if (auto done = body->finish(); !done) co_return api::failure(400, done.error().what());
        // The registry as references name it ("docker.io" → registry-1.docker.io).
        auto probe = images::parse_reference(*registry_name + "/x");
        if (!probe || registry_name->empty() || registry_name->find('/') != std::string::npos)
          co_return api::failure(400, "body.registry: '" + *registry_name + "' is not host[:port]");
        if (username->empty() || username->find(':') != std::string::npos)
          co_return api::failure(400, "body.username: must be non-empty and without ':'");
        registry::Credentials credentials{*username, *password};
        auto status = co_await ctx.registry->login(probe->registry, credentials);
        if (!status) co_return api::failure(status_of(status.error()), status.error().what());
        co_return api::success("login succeeded", {{"registry", probe->registry}});
      });

  management.add("POST", "/v1/images/logout", "image.logout", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.registry)
                     co_return api::failure(503, "the image store is not available");
                   auto body = api::StrictObject::parse(req.body);
                   if (!body) co_return api::failure(400, body.error().what());
                   auto registry_name = body->required_string("registry");
                   if (!registry_name) co_return api::failure(400, registry_name.error().what());
                   if (auto done = body->finish(); !done)
                     co_return api::failure(400, done.error().what());
                   auto probe = images::parse_reference(*registry_name + "/x");
                   if (!probe)
                     co_return api::failure(
                         400, "body.registry: '" + *registry_name + "' is not host[:port]");
                   auto removed = ctx.registry->logout(probe->registry);
                   if (!removed) co_return api::failure(removed.error());
                   if (!*removed)
                     co_return api::failure(404, "not logged in to " + probe->registry);
                   co_return api::success("logged out", {{"registry", probe->registry}});
                 });

  management.add("POST", "/v1/images/export", "image.export", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.images) co_return api::failure(503, "the image store is not available");
                   auto body = api::StrictObject::parse(req.body);
                   if (!body) co_return api::failure(400, body.error().what());
                   auto names = body->string_array("images");
                   auto path_text = body->required_string("path");
                   if (!names) co_return api::failure(400, names.error().what());
                   if (!path_text) co_return api::failure(400, path_text.error().what());
                   if (auto done = body->finish(); !done)
                     co_return api::failure(400, done.error().what());
                   std::filesystem::path path = *path_text;
                   if (!path.is_absolute())
                     co_return api::failure(400,
                                            "body.path: \"" + path.string() + "\" is not absolute");
                   if (names->empty())
                     co_return api::failure(400, "body.images: name at least one image");
                   std::vector<images::ImageRecord> records;
                   for (const auto& name : *names) {
                     auto found = ctx.images->find_image(name);
                     if (!found)
                       co_return api::failure(status_of(found.error()), found.error().what());
                     records.push_back(*found);
                   }
                   if (!ctx.registry)
                     co_return api::failure(503, "the image store is not available");
                   auto exported = co_await ctx.registry->export_images(records, path);
                   if (!exported)
                     co_return api::failure(status_of(exported.error()), exported.error().what());
                   co_return api::success("images exported",
                                          {{"path", path.string()}, {"images", records.size()}});
                 });

  management.add("POST", "/v1/images/prune", "image.prune", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.images || !ctx.registry)
                     co_return api::failure(503, "the image store is not available");
                   auto body = api::StrictObject::parse(req.body, true);
                   if (!body) co_return api::failure(400, body.error().what());
                   auto all = body->optional_bool("all");
                   if (!all) co_return api::failure(400, all.error().what());
                   if (auto done = body->finish(); !done)
                     co_return api::failure(400, done.error().what());
                   nlohmann::json removed = nlohmann::json::array();
                   if (all->value_or(false)) {
                     // Every image no container uses.
                     auto list = ctx.images->list_images();
                     if (!list) co_return api::failure(list.error());
                     for (const auto& image : *list) {
                       if (!containers_using(ctx, image.id()).empty()) continue;
                       auto gone = ctx.images->remove_image(image.reference);
                       if (!gone) co_return api::failure(gone.error());
                       for (const auto& r : *gone) removed.push_back(image_json(r));
                     }
                   }
                   auto keep = configs_in_use(ctx);
                   auto stats = co_await ctx.registry->collect_garbage(keep);
                   if (!stats) co_return api::failure(stats.error());
                   auto data = gc_json(*stats);
                   data["images_removed"] = std::move(removed);
                   co_return api::success("pruned", std::move(data));
                 });

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
        if (!ctx.registry) co_return api::failure(503, "the image store is not available");
        auto imported = co_await ctx.registry->import_archive(path, reference);
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
                   if (!found->index_digest.empty()) data["index_digest"] = found->index_digest;
                   if (auto config = ctx.images->read_blob(found->config_digest)) {
                     if (auto info = images::parse_image_config(*config)) {
                       data["os"] = info->platform.os;
                       data["architecture"] = info->platform.architecture;
                       if (!info->platform.variant.empty())
                         data["variant"] = info->platform.variant;
                     }
                   }
                   data["diff_ids"] = found->diff_ids;
                   data["layer_digests"] = found->layer_digests;
                   co_return api::success("image", std::move(data));
                 });

  management.add("DELETE", "/v1/images/{name}", "image.remove", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.images) co_return api::failure(503, "the image store is not available");
                   auto found = ctx.images->find_image(req.params["name"]);
                   if (!found)
                     co_return api::failure(status_of(found.error()), found.error().what());
                   // Only the last tag of an image is protected: removing one of several
                   // names leaves the image (and its containers) intact.
                   auto all = ctx.images->list_images();
                   if (!all) co_return api::failure(all.error());
                   auto tags = std::count_if(all->begin(), all->end(),
                                             [&](const auto& r) { return r.id() == found->id(); });
                   auto parsed = images::parse_reference(req.params["name"]);
                   bool by_reference = parsed && found->reference == parsed->to_string();
                   if (!by_reference || tags <= 1) {
                     auto users = containers_using(ctx, found->id());
                     if (!users.empty()) {
                       std::string list;
                       for (const auto& n : users) list += (list.empty() ? "" : ", ") + n;
                       co_return api::failure(
                           409, fmt::format("image {} is used by {} container(s): {}; remove them "
                                            "first",
                                            req.params["name"], users.size(), list));
                     }
                   }
                   auto removed = ctx.images->remove_image(req.params["name"]);
                   if (!removed)
                     co_return api::failure(status_of(removed.error()), removed.error().what());
                   nlohmann::json data = nlohmann::json::object();
                   data["removed"] = nlohmann::json::array();
                   for (const auto& r : *removed) data["removed"].push_back(image_json(r));
                   // Automatic collection: layers no other image or container needs go now.
                   if (ctx.registry) {
                     auto keep = configs_in_use(ctx);
                     auto stats = co_await ctx.registry->collect_garbage(keep);
                     if (stats) data["gc"] = gc_json(*stats);
                   }
                   co_return api::success("image removed", std::move(data));
                 });
}

}  // namespace raind::condenser::handlers

// Containers and networks on the management API (docs/api.md).
#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include <charconv>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "condenser/api/envelope.hpp"
#include "condenser/api/strict_json.hpp"
#include "condenser/handlers/context.hpp"
#include "raind/sys/files.hpp"

namespace raind::condenser::handlers {

using api::ApiRequest;
using api::ApiResponse;
using boost::asio::awaitable;
using containers::ContainerRecord;

namespace {

nlohmann::json container_json(HandlerContext& ctx, const ContainerRecord& record) {
  nlohmann::json doc = record.to_json();
  doc.erase("stop_requested");
  auto spiffe = ctx.containers->spiffe_id(record.id);
  doc["spiffe_id"] = spiffe ? nlohmann::json(*spiffe) : nlohmann::json();
  return doc;
}

void audit_container(ApiRequest& req, const ContainerRecord& record) {
  req.audit_target["container_id"] = record.id;
  req.audit_target["container_name"] = record.name;
}

// A bottle's containers start, stop and go with their bottle (its order, health waits and
// policies); operating one alone would break what the bottle promises.
std::optional<ApiResponse> refuse_bottle_member(HandlerContext& ctx, const std::string& ref,
                                                std::string_view verb) {
  auto record = ctx.containers->inspect(ref);
  if (!record || record->bottle.empty()) return std::nullopt;
  return api::failure(409,
                      fmt::format("container '{}' belongs to bottle '{}': use raind bottle {} {}",
                                  record->name, record->bottle, verb, record->bottle));
}

std::optional<std::size_t> parse_count(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  std::size_t n = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
  if (text->empty() || ec != std::errc() || ptr != text->data() + text->size()) return std::nullopt;
  return n;
}

// Copies the client's bytes (attach frames, docs/api.md) into the shim's socket and
// the terminal's output back, until either side ends.
awaitable<void> bridge_to_shim(api::WebSocketChannel& ws, std::filesystem::path socket_path,
                               std::string replay = {}) {
  namespace asio = boost::asio;
  auto executor = co_await asio::this_coro::executor;
  asio::local::stream_protocol::socket shim(executor);
  boost::system::error_code ec;
  co_await shim.async_connect(socket_path.string(), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_await ws.close(1013, "target not ready");
    co_return;
  }
  // What an exec session printed before the client arrived (its first prompt).
  if (!replay.empty() && !co_await ws.write(replay)) co_return;
  asio::steady_timer finished(executor, asio::steady_timer::time_point::max());
  bool output_done = false;
  asio::co_spawn(
      executor,
      [&]() -> awaitable<void> {
        std::array<char, 32 * 1024> buffer{};
        while (true) {
          boost::system::error_code read_ec;
          std::size_t n = co_await shim.async_read_some(
              asio::buffer(buffer), asio::redirect_error(asio::use_awaitable, read_ec));
          if (read_ec) break;
          if (!co_await ws.write(std::string_view(buffer.data(), n))) break;
        }
        co_await ws.close(1000, "stream closed");
        output_done = true;
        finished.cancel();
      },
      asio::detached);
  while (true) {
    auto message = co_await ws.read();
    if (!message) break;
    co_await asio::async_write(shim, asio::buffer(*message),
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  shim.close(ec);  // wakes the output side
  while (!output_done) co_await finished.async_wait(asio::redirect_error(asio::use_awaitable, ec));
}

}  // namespace

void add_container_routes(api::Router& management, HandlerContext& ctx) {
  management.add(
      "POST", "/v1/containers", "container.create", api::Severity::medium,
      [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
        auto request = containers::parse_create_request(req.body);
        if (!request) co_return api::failure(request.error());
        req.audit_target["image"] = request->image;
        auto created = co_await ctx.containers->create(std::move(*request));
        if (!created) co_return api::failure(created.error());
        audit_container(req, *created);
        co_return api::success(
            created->state == "running" ? "container created and started" : "container created",
            container_json(ctx, *created), 201);
      },
      64 * 1024);

  management.add("GET", "/v1/containers", "container.list", api::Severity::information,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   auto records = ctx.containers->list(api::query_flag(req.query, "all"));
                   if (!records) co_return api::failure(records.error());
                   nlohmann::json data = nlohmann::json::array();
                   for (const auto& r : *records) data.push_back(container_json(ctx, r));
                   co_return api::success("containers", std::move(data));
                 });

  management.add("GET", "/v1/containers/{ref}", "container.inspect", api::Severity::information,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   auto record = ctx.containers->inspect(req.params["ref"]);
                   if (!record) co_return api::failure(record.error());
                   audit_container(req, *record);
                   co_return api::success("container", container_json(ctx, *record));
                 });

  management.add("POST", "/v1/containers/{ref}/start", "container.start", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (auto refused = refuse_bottle_member(ctx, req.params["ref"], "start"))
                     co_return std::move(*refused);
                   auto record = co_await ctx.containers->start(req.params["ref"]);
                   if (!record) co_return api::failure(record.error());
                   audit_container(req, *record);
                   co_return api::success("container started", container_json(ctx, *record));
                 });

  management.add("POST", "/v1/containers/{ref}/stop", "container.stop", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (auto refused = refuse_bottle_member(ctx, req.params["ref"], "stop"))
                     co_return std::move(*refused);
                   std::optional<std::chrono::seconds> grace;
                   if (auto t = api::query_value(req.query, "timeout")) {
                     auto n = parse_count(t);
                     if (!n || *n > 3600)
                       co_return api::failure(
                           400, fmt::format("timeout '{}' is not 0..3600 seconds", *t));
                     grace = std::chrono::seconds(*n);
                   }
                   auto record = co_await ctx.containers->stop(req.params["ref"], grace);
                   if (!record) co_return api::failure(record.error());
                   audit_container(req, *record);
                   co_return api::success("container stopped", container_json(ctx, *record));
                 });

  management.add("POST", "/v1/containers/{ref}/kill", "container.kill", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (auto refused = refuse_bottle_member(ctx, req.params["ref"], "stop"))
                     co_return std::move(*refused);
                   std::string signal = api::query_value(req.query, "signal").value_or("KILL");
                   req.audit_extra["signal"] = signal;
                   auto record = co_await ctx.containers->kill(req.params["ref"], signal);
                   if (!record) co_return api::failure(record.error());
                   audit_container(req, *record);
                   co_return api::success("signal sent", container_json(ctx, *record));
                 });

  management.add("DELETE", "/v1/containers/{ref}", "container.delete", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   const std::string ref = req.params["ref"];
                   if (auto record = ctx.containers->inspect(ref)) audit_container(req, *record);
                   if (auto refused = refuse_bottle_member(ctx, ref, "rm"))
                     co_return std::move(*refused);
                   auto removed =
                       co_await ctx.containers->remove(ref, api::query_flag(req.query, "force"));
                   if (!removed) co_return api::failure(removed.error());
                   co_return api::success("container removed", {{"id", *removed}});
                 });

  management.add(
      "GET", "/v1/containers/{ref}/logs", "container.logs", api::Severity::information,
      [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
        std::optional<std::size_t> tail;
        if (auto t = api::query_value(req.query, "tail_lines")) {
          tail = parse_count(t);
          if (!tail)
            co_return api::failure(400, fmt::format("tail_lines '{}' is not a number", *t));
        }
        auto record = ctx.containers->inspect(req.params["ref"]);
        if (!record) co_return api::failure(record.error());
        audit_container(req, *record);
        auto text = ctx.containers->logs(record->id, tail);
        if (!text) co_return api::failure(text.error());
        ApiResponse resp;
        resp.content_type = "text/plain; charset=utf-8";
        resp.message = "logs";
        if (!api::query_flag(req.query, "follow")) {
          resp.body = std::move(*text);
          co_return resp;
        }
        // Follow: what is there, then what the container adds, until it stops.
        resp.stream = [&ctx, id = record->id,
                       first = std::move(*text)](api::ChunkSink& sink) -> awaitable<void> {
          if (!co_await sink.write(first)) co_return;
          auto whole = ctx.containers->logs(id, std::nullopt);
          std::size_t seen = whole ? whole->size() : 0;
          boost::asio::steady_timer tick(co_await boost::asio::this_coro::executor);
          while (true) {
            auto state = ctx.containers->inspect(id);
            auto now = ctx.containers->logs(id, std::nullopt);
            if (!state || !now) co_return;
            if (now->size() < seen) seen = 0;  // rotated
            if (now->size() > seen) {
              if (!co_await sink.write(std::string_view(*now).substr(seen))) co_return;
              seen = now->size();
            }
            if (state->state == "stopped") co_return;
            tick.expires_after(std::chrono::milliseconds(200));
            boost::system::error_code ec;
            co_await tick.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
          }
        };
        co_return resp;
      });

  management.add(
      "POST", "/v1/containers/{ref}/exec", "container.exec", api::Severity::high,
      [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
        auto object = api::StrictObject::parse(req.body);
        if (!object) co_return api::failure(object.error());
        containers::ExecRequest exec;
        auto command = object->string_array("command");
        if (!command) co_return api::failure(command.error());
        exec.command = std::move(*command);
        auto env = object->string_array("env");
        if (!env) co_return api::failure(env.error());
        exec.env = std::move(*env);
        auto workdir = object->optional_string("workdir");
        if (!workdir) co_return api::failure(workdir.error());
        exec.workdir = workdir->value_or("");
        auto user = object->optional_string("user");
        if (!user) co_return api::failure(user.error());
        exec.user = user->value_or("");
        auto tty = object->optional_bool("tty");
        if (!tty) co_return api::failure(tty.error());
        if (auto s = object->finish(); !s) co_return api::failure(s.error());
        req.audit_extra["command"] = exec.command;
        if (auto record = ctx.containers->inspect(req.params["ref"])) audit_container(req, *record);
        if (tty->value_or(false)) {
          auto pid = co_await ctx.containers->exec_terminal(req.params["ref"], std::move(exec));
          if (!pid) co_return api::failure(pid.error());
          req.audit_extra["exec_id"] = *pid;
          co_return api::success("exec session started", {{"exec_id", *pid}}, 201);
        }
        auto result = co_await ctx.containers->exec(req.params["ref"], std::move(exec));
        if (!result) co_return api::failure(result.error());
        req.audit_extra["exit_code"] = result->exit_code;
        co_return api::success(
            "exec finished",
            {{"exit_code", result->exit_code}, {"stdout", result->out}, {"stderr", result->err}});
      },
      256 * 1024);

  management.add(
      "POST", "/v1/containers/{ref}/wait", "container.wait", api::Severity::information,
      [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
        std::chrono::seconds limit(20);
        if (auto t = api::query_value(req.query, "timeout")) {
          auto n = parse_count(t);
          if (!n || *n > 60)
            co_return api::failure(400, fmt::format("timeout '{}' is not 0..60 seconds", *t));
          limit = std::chrono::seconds(*n);
        }
        auto record = co_await ctx.containers->wait(req.params["ref"], limit);
        if (!record) co_return api::failure(record.error());
        co_return api::success(record->state == "stopped" ? "container stopped" : "still running",
                               container_json(ctx, *record));
      });

  management.add("GET", "/v1/containers/{ref}/attach", "container.attach", api::Severity::high,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   auto record = ctx.containers->inspect(req.params["ref"]);
                   if (!record) co_return api::failure(record.error());
                   audit_container(req, *record);
                   auto socket = ctx.containers->attach_socket(record->id);
                   if (!socket) co_return api::failure(socket.error());
                   ApiResponse resp;
                   resp.status = 101;
                   resp.message = "attach session ended";
                   resp.upgrade = [path = *socket](api::WebSocketChannel& ws) {
                     return bridge_to_shim(ws, path);
                   };
                   co_return resp;
                 });

  management.add(
      "GET", "/v1/containers/{ref}/exec/{exec_id}", "container.exec_inspect",
      api::Severity::information, [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
        auto pid = parse_count(req.params["exec_id"]);
        if (!pid) co_return api::failure(400, "exec id must be a number");
        auto session =
            ctx.containers->exec_session(req.params["ref"], static_cast<std::int64_t>(*pid));
        if (!session) co_return api::failure(session.error());
        co_return api::success(
            "exec session", {{"exec_id", *pid},
                             {"running", !session->exit_code.has_value()},
                             {"exit_code", session->exit_code ? nlohmann::json(*session->exit_code)
                                                              : nlohmann::json()}});
      });

  management.add("GET", "/v1/containers/{ref}/exec/{exec_id}/attach", "container.exec_attach",
                 api::Severity::high, [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   auto pid = parse_count(req.params["exec_id"]);
                   if (!pid) co_return api::failure(400, "exec id must be a number");
                   auto session = ctx.containers->exec_session(req.params["ref"],
                                                               static_cast<std::int64_t>(*pid));
                   if (!session) co_return api::failure(session.error());
                   if (session->exit_code)
                     co_return api::failure(409, fmt::format("exec session {} has ended", *pid));
                   req.audit_extra["exec_id"] = *pid;
                   std::string replay;
                   if (auto text = sys::read_file(session->log)) replay = std::move(*text);
                   ApiResponse resp;
                   resp.status = 101;
                   resp.message = "exec session ended";
                   resp.upgrade = [path = session->socket, replay](api::WebSocketChannel& ws) {
                     return bridge_to_shim(ws, path, replay);
                   };
                   co_return resp;
                 });

  // Networks
  management.add("GET", "/v1/networks", "network.list", api::Severity::information,
                 [&ctx](ApiRequest&) -> awaitable<ApiResponse> {
                   auto nets = ctx.containers->networks();
                   if (!nets) co_return api::failure(nets.error());
                   nlohmann::json data = nlohmann::json::array();
                   for (const auto& n : *nets)
                     data.push_back({{"name", n.name},
                                     {"bridge", n.name},
                                     {"subnet", n.subnet},
                                     {"gateway", n.gateway},
                                     {"containers", n.containers}});
                   co_return api::success("networks", std::move(data));
                 });

  management.add("POST", "/v1/networks", "network.create", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   auto object = api::StrictObject::parse(req.body);
                   if (!object) co_return api::failure(object.error());
                   auto name = object->required_string("name");
                   if (!name) co_return api::failure(name.error());
                   if (auto s = object->finish(); !s) co_return api::failure(s.error());
                   req.audit_target["network"] = *name;
                   auto view = ctx.containers->create_network(*name);
                   if (!view) co_return api::failure(view.error());
                   co_return api::success("network created",
                                          {{"name", view->name},
                                           {"bridge", view->name},
                                           {"subnet", view->subnet},
                                           {"gateway", view->gateway},
                                           {"containers", nlohmann::json::array()}},
                                          201);
                 });

  management.add("DELETE", "/v1/networks/{name}", "network.delete", api::Severity::medium,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   const std::string name = req.params["name"];
                   req.audit_target["network"] = name;
                   if (auto s = ctx.containers->remove_network(name); !s)
                     co_return api::failure(s.error());
                   co_return api::success("network removed", {{"name", name}});
                 });
}

}  // namespace raind::condenser::handlers

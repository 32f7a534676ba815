// GET /v1/logs/{kind}: the last records of a JSON-lines log, filtered, optionally followed.
// GET /v1/metrics: fresh resource figures of every running container (raind container stats).
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>

#include "condenser/api/envelope.hpp"
#include "condenser/handlers/context.hpp"
#include "condenser/logs/query.hpp"

namespace raind::condenser::handlers {
namespace {

using api::ApiRequest;
using api::ApiResponse;
using boost::asio::awaitable;

constexpr std::size_t kDefaultLines = 100;
constexpr std::size_t kMaxLines = 100000;

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    out += l;
    out += '\n';
  }
  return out;
}

}  // namespace

void add_log_routes(api::Router& management, HandlerContext& ctx) {
  management.add(
      "GET", "/v1/logs/{kind}", "log.read", api::Severity::information,
      [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
        auto kind = logs::parse_log_kind(req.params["kind"]);
        if (!kind)
          co_return api::failure(
              404, fmt::format("no log '{}': netflow, dns, audit or metrics", req.params["kind"]));
        std::size_t lines = kDefaultLines;
        if (auto t = api::query_value(req.query, "tail_lines")) {
          auto [ptr, ec] = std::from_chars(t->data(), t->data() + t->size(), lines);
          if (t->empty() || ec != std::errc() || ptr != t->data() + t->size() || lines > kMaxLines)
            co_return api::failure(
                400, fmt::format("tail_lines '{}' is not a number up to {}", *t, kMaxLines));
        }
        auto filter = logs::make_filter(api::query_value(req.query, "container").value_or(""),
                                        api::query_value(req.query, "verdict").value_or(""),
                                        api::query_value(req.query, "since").value_or(""),
                                        std::chrono::system_clock::now());
        if (!filter) co_return api::failure(filter.error());
        req.audit_target["log"] = std::string(logs::log_kind_name(*kind));
        if (!filter->container.empty()) req.audit_target["container_name"] = filter->container;
        const auto file = ctx.log_dir / logs::log_file_name(*kind);
        auto tail = logs::tail(file, lines, *kind, *filter);
        if (!tail) co_return api::failure(tail.error());
        ApiResponse resp;
        resp.content_type = "application/x-ndjson";
        resp.message = "log";
        if (!api::query_flag(req.query, "follow")) {
          resp.body = join_lines(tail->lines);
          co_return resp;
        }
        // Follow: the tail, then every matching record appended, until the client leaves.
        resp.stream = [file, kind = *kind, filter = *filter,
                       first = std::move(*tail)](api::ChunkSink& sink) -> awaitable<void> {
          std::string head = join_lines(first.lines);
          if (!head.empty() && !co_await sink.write(head)) co_return;
          std::uint64_t offset = first.end_offset;
          std::uint64_t inode = first.inode;
          boost::asio::steady_timer tick(co_await boost::asio::this_coro::executor);
          // An idle stream still writes now and then, so a vanished client is noticed.
          int idle_ticks = 0;
          while (true) {
            auto fresh = logs::read_new(file, offset, inode);
            if (!fresh) co_return;
            std::string out;
            for (const auto& line : *fresh)
              if (logs::line_matches(kind, line, filter)) {
                out += line;
                out += '\n';
              }
            if (!out.empty() || ++idle_ticks >= 40) {
              if (out.empty()) out = "\n";
              idle_ticks = 0;
              if (!co_await sink.write(out)) co_return;
            }
            tick.expires_after(std::chrono::milliseconds(250));
            boost::system::error_code ec;
            co_await tick.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
            if (ec) co_return;
          }
        };
        co_return resp;
      });

  management.add("GET", "/v1/metrics", "metrics.read", api::Severity::information,
                 [&ctx](ApiRequest& req) -> awaitable<ApiResponse> {
                   if (!ctx.metrics) co_return api::failure(503, "metrics are disabled");
                   auto wanted = api::query_value(req.query, "container").value_or("");
                   nlohmann::json out = nlohmann::json::array();
                   logs::LogFilter filter;
                   filter.container = wanted;
                   for (auto& record : ctx.metrics->snapshot())
                     if (wanted.empty() || logs::matches(logs::LogKind::metrics, record, filter))
                       out.push_back(std::move(record));
                   co_return api::success("metrics", std::move(out));
                 });
}

}  // namespace raind::condenser::handlers

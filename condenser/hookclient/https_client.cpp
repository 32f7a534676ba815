#include "condenser/hookclient/https_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <nlohmann/json.hpp>

namespace raind::condenser::hookclient {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::redirect_error;
using asio::use_awaitable;

namespace {

// Replies carry a certificate or a small envelope; anything larger is not condenserd.
constexpr std::uint64_t kReplyBodyLimit = 4ull * 1024 * 1024;

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

Error transport_error(const HttpsEndpoint& ep, std::string_view step,
                      const boost::system::error_code& ec) {
  if (ec == beast::error::timeout)
    return Error(Errc::timeout, fmt::format("{} condenserd at {}: timed out", step, ep.display()));
  return Error(Errc::unavailable,
               fmt::format("{} condenserd at {}: {}", step, ep.display(), ec.message()));
}

bool refused(const boost::system::error_code& ec) {
  return ec == asio::error::connection_refused || ec == asio::error::host_unreachable ||
         ec == asio::error::network_unreachable ||
         ec == boost::system::errc::no_such_file_or_directory;
}

// One exchange on a connected-to-be stream. `where` is an endpoint or an endpoint sequence.
template <class Stream, class Where>
asio::awaitable<Result<HttpsReply>> converse(Stream& stream, const Where& where,
                                             const HttpsEndpoint& ep, const HttpsRequest& request) {
  boost::system::error_code ec;
  co_await beast::get_lowest_layer(stream).async_connect(where, redirect_error(use_awaitable, ec));
  if (ec) {
    if (refused(ec))
      co_return failf(Errc::unavailable, "cannot connect to condenserd at {}: {}: is it running?",
                      ep.display(), ec.message());
    co_return std::unexpected(transport_error(ep, "connect to", ec));
  }
  if constexpr (requires {
                  beast::get_lowest_layer(stream).socket().set_option(
                      asio::ip::tcp::no_delay(true));
                }) {
    if (ep.unix_path.empty())
      beast::get_lowest_layer(stream).socket().set_option(asio::ip::tcp::no_delay(true), ec);
  }
  co_await stream.async_handshake(ssl::stream_base::client, redirect_error(use_awaitable, ec));
  if (ec) co_return std::unexpected(transport_error(ep, "tls handshake with", ec));

  http::request<http::string_body> req{http::string_to_verb(request.method), request.target, 11};
  req.set(http::field::host, ep.unix_path.empty() ? ep.display() : ep.server_name);
  req.set(http::field::user_agent, "condenserd-hook/" RAIND_VERSION);
  for (const auto& [name, value] : request.headers) req.set(name, value);
  if (!request.content_type.empty()) req.set(http::field::content_type, request.content_type);
  req.body() = request.body;
  req.keep_alive(false);
  req.prepare_payload();
  co_await http::async_write(stream, req, redirect_error(use_awaitable, ec));
  if (ec) co_return std::unexpected(transport_error(ep, "send request to", ec));

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kReplyBodyLimit);
  co_await http::async_read(stream, buffer, parser, redirect_error(use_awaitable, ec));
  if (ec) co_return std::unexpected(transport_error(ep, "read reply from", ec));
  auto& res = parser.get();
  HttpsReply out;
  out.status = res.result_int();
  out.content_type = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
  // The whole response is read (Content-Length framed) and we asked for Connection: close; a TLS
  // close_notify round trip would only add a wait on a slow peer.
  beast::get_lowest_layer(stream).close();
  co_return out;
}

template <class Protocol, class Where>
Result<HttpsReply> run_exchange(asio::io_context& io, ssl::context& ctx, const Where& where,
                                const HttpsEndpoint& ep, const HttpsRequest& request,
                                std::chrono::milliseconds timeout) {
  beast::ssl_stream<beast::basic_stream<Protocol>> stream(io, ctx);
  X509_VERIFY_PARAM* param = SSL_get0_param(stream.native_handle());
  if (is_ip_literal(ep.server_name)) {
    X509_VERIFY_PARAM_set1_ip_asc(param, ep.server_name.c_str());
  } else {
    X509_VERIFY_PARAM_set1_host(param, ep.server_name.c_str(), 0);
    SSL_set_tlsext_host_name(stream.native_handle(), ep.server_name.c_str());
  }
  // One deadline for the whole exchange: basic_stream closes the socket when it passes and every
  // pending operation completes with beast::error::timeout.
  beast::get_lowest_layer(stream).expires_after(timeout);
  Result<HttpsReply> out = fail(Errc::internal, "https exchange did not complete");
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { out = co_await converse(stream, where, ep, request); },
      asio::detached);
  io.run();
  return out;
}

}  // namespace

HttpsEndpoint HttpsEndpoint::tcp(std::string host, std::string port) {
  HttpsEndpoint ep;
  ep.server_name = host;
  ep.host = std::move(host);
  ep.port = std::move(port);
  return ep;
}

HttpsEndpoint HttpsEndpoint::unix_socket(std::filesystem::path path, std::string server_name) {
  HttpsEndpoint ep;
  ep.unix_path = std::move(path);
  ep.server_name = std::move(server_name);
  return ep;
}

std::string HttpsEndpoint::display() const {
  if (!unix_path.empty()) return "unix:" + unix_path.string();
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<HttpsReply> https_request(const HttpsEndpoint& endpoint, const TlsMaterial& tls,
                                 const HttpsRequest& request, std::chrono::milliseconds timeout) {
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_3_VERSION);
  ctx.set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  ctx.add_certificate_authority(asio::buffer(tls.ca_pem), ec);
  if (ec) return failf(Errc::invalid_argument, "load ca certificate: {}", ec.message());
  ctx.use_certificate_chain(asio::buffer(tls.cert_pem), ec);
  if (ec) return failf(Errc::invalid_argument, "load client certificate: {}", ec.message());
  ctx.use_private_key(asio::buffer(tls.key_pem), ssl::context::pem, ec);
  if (ec) return failf(Errc::invalid_argument, "load client key: {}", ec.message());

  if (!endpoint.unix_path.empty()) {
    const asio::local::stream_protocol::endpoint where(endpoint.unix_path.string());
    return run_exchange<asio::local::stream_protocol>(io, ctx, where, endpoint, request, timeout);
  }
  asio::ip::tcp::resolver resolver(io);
  auto results = resolver.resolve(endpoint.host, endpoint.port, ec);
  if (ec)
    return failf(Errc::unavailable, "cannot resolve {}: {}", endpoint.display(), ec.message());
  return run_exchange<asio::ip::tcp>(io, ctx, results, endpoint, request, timeout);
}

Error reply_error(const HttpsReply& reply) {
  const Errc code = errc_from_http_status(reply.status);
  auto j = nlohmann::json::parse(reply.body, nullptr, false);
  std::string message;
  if (j.is_object() && j.contains("message") && j["message"].is_string())
    message = j["message"].get<std::string>();
  else
    message = reply.body.empty() ? std::string("no message") : reply.body.substr(0, 200);
  return Error(code, fmt::format("condenserd answered {}: {}", reply.status, message));
}

}  // namespace raind::condenser::hookclient

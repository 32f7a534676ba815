#include "raind-cli/client/client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <cerrno>
#include <fstream>
#include <sstream>

namespace raind::cli {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

Result<Endpoint> parse_host(std::string_view text) {
  std::string_view rest = text;
  if (rest.starts_with("https://"))
    rest.remove_prefix(8);
  else if (rest.find("://") != std::string_view::npos)
    return failf(Errc::invalid_argument, "--host '{}': only https:// is supported", text);
  while (rest.ends_with("/")) rest.remove_suffix(1);
  Endpoint ep;
  if (rest.starts_with("[")) {
    auto close = rest.find(']');
    if (close == std::string_view::npos)
      return failf(Errc::invalid_argument, "--host '{}': unterminated [", text);
    ep.host = std::string(rest.substr(1, close - 1));
    rest.remove_prefix(close + 1);
    ep.port = rest.starts_with(":") ? std::string(rest.substr(1)) : "7755";
  } else {
    auto colon = rest.rfind(':');
    ep.host = std::string(rest.substr(0, colon));
    ep.port = colon == std::string_view::npos ? "7755" : std::string(rest.substr(colon + 1));
  }
  if (ep.host.empty() || ep.port.empty() ||
      ep.port.find_first_not_of("0123456789") != std::string::npos)
    return failf(Errc::invalid_argument, "--host '{}' is not https://HOST:PORT", text);
  return ep;
}

namespace {

Result<std::string> read_material(const std::filesystem::path& path, std::string_view what) {
  std::ifstream in(path);
  if (!in) {
    const int err = errno;
    if (err == EACCES || err == EPERM)
      return failf(Errc::permission_denied, "permission denied reading {} {}: run with sudo", what,
                   path.string());
    if (err == ENOENT)
      return failf(Errc::not_found,
                   "{} {} not found: has condenserd been started once? (or set --pki-dir / "
                   "RAIND_PKI_DIR)",
                   what, path.string());
    return std::unexpected(Error::from_errno(err, fmt::format("read {} {}", what, path.string())));
  }
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string envelope_message(const HttpResult& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("message") && j["message"].is_string())
    return j["message"].get<std::string>();
  return r.body.empty() ? std::string("no message") : r.body.substr(0, 200);
}

}  // namespace

Result<Client> Client::create(ClientOptions options) {
  Client c;
  RAIND_TRY_ASSIGN(c.endpoint_, parse_host(options.host));
  // The key first: its permission error is the one a non-root operator will meet.
  RAIND_TRY_ASSIGN(c.key_pem_, read_material(options.pki_dir / "cli.key", "client key"));
  RAIND_TRY_ASSIGN(c.cert_pem_, read_material(options.pki_dir / "cli.crt", "client certificate"));
  RAIND_TRY_ASSIGN(c.ca_pem_, read_material(options.pki_dir / "ca.crt", "ca certificate"));
  c.options_ = std::move(options);
  return c;
}

Result<std::unique_ptr<TlsConnection>> Client::connect() {
  try {
    auto conn = std::make_unique<TlsConnection>();
    auto& ctx = conn->ctx;
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_3_VERSION);
    ctx.add_certificate_authority(asio::buffer(ca_pem_));
    ctx.use_certificate_chain(asio::buffer(cert_pem_));
    ctx.use_private_key(asio::buffer(key_pem_), ssl::context::pem);
    ctx.set_verify_mode(ssl::verify_peer);

    asio::ip::tcp::resolver resolver(conn->io);
    conn->stream.emplace(conn->io, ctx);
    auto& stream = *conn->stream;
    // Check the server certificate names this host (DNS or IP SAN).
    boost::system::error_code ip_ec;
    asio::ip::make_address(endpoint_.host, ip_ec);
    X509_VERIFY_PARAM* param = SSL_get0_param(stream.native_handle());
    if (!ip_ec)
      X509_VERIFY_PARAM_set1_ip_asc(param, endpoint_.host.c_str());
    else {
      X509_VERIFY_PARAM_set1_host(param, endpoint_.host.c_str(), 0);
      SSL_set_tlsext_host_name(stream.native_handle(), endpoint_.host.c_str());
    }
    boost::system::error_code ec;
    auto results = resolver.resolve(endpoint_.host, endpoint_.port, ec);
    if (ec) return failf(Errc::unavailable, "cannot resolve {}: {}", endpoint_.host, ec.message());
    beast::get_lowest_layer(stream).expires_after(options_.timeout);
    beast::get_lowest_layer(stream).connect(results, ec);
    if (ec) {
      if (ec == asio::error::connection_refused || ec == asio::error::host_unreachable ||
          ec == asio::error::network_unreachable)
        return failf(Errc::unavailable, "cannot connect to condenserd at {}: is it running?",
                     endpoint_.display());
      return failf(Errc::unavailable, "cannot connect to condenserd at {}: {}", endpoint_.display(),
                   ec.message());
    }
    beast::get_lowest_layer(stream).socket().set_option(asio::ip::tcp::no_delay(true), ec);
    stream.handshake(ssl::stream_base::client, ec);
    if (ec)
      return failf(Errc::unavailable, "tls handshake with condenserd at {} failed: {}",
                   endpoint_.display(), ec.message());
    return conn;
  } catch (const boost::system::system_error& e) {
    return failf(Errc::internal, "load client tls material from {}: {}", options_.pki_dir.string(),
                 e.what());
  }
}

Result<HttpResult> Client::request(std::string_view method, std::string_view target,
                                   std::string_view body, std::string_view content_type) {
  RAIND_TRY_ASSIGN(auto conn, connect());
  auto& stream = *conn->stream;
  boost::system::error_code ec;
  try {
    http::request<http::string_body> req{http::string_to_verb(std::string(method)),
                                         std::string(target), 11};
    req.set(http::field::host, endpoint_.display());
    req.set(http::field::user_agent, "raind/" RAIND_VERSION);
    if (!body.empty()) {
      req.set(http::field::content_type, std::string(content_type));
      req.body() = std::string(body);
    }
    req.keep_alive(false);
    req.prepare_payload();
    http::write(stream, req, ec);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64ull * 1024 * 1024);
    if (!ec) http::read(stream, buffer, parser, ec);
    if (ec)
      return failf(Errc::unavailable, "condenserd at {} closed the connection: {}",
                   endpoint_.display(), ec.message());
    auto& res = parser.get();
    HttpResult out;
    out.status = res.result_int();
    out.content_type = std::string(res[http::field::content_type]);
    out.body = std::move(res.body());
    stream.shutdown(ec);  // best effort
    return out;
  } catch (const boost::system::system_error& e) {
    return failf(Errc::unavailable, "request to condenserd at {} failed: {}", endpoint_.display(),
                 e.what());
  }
}

Status Client::stream(std::string_view target, const std::function<void(std::string_view)>& on_data,
                      std::string_view method, std::string_view body) {
  RAIND_TRY_ASSIGN(auto conn, connect());
  auto& stream = *conn->stream;
  beast::get_lowest_layer(stream).expires_never();
  boost::system::error_code ec;
  try {
    http::request<http::string_body> req{
        http::string_to_verb(beast::string_view(method.data(), method.size())), std::string(target),
        11};
    req.set(http::field::host, endpoint_.display());
    req.set(http::field::user_agent, "raind/" RAIND_VERSION);
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = std::string(body);
      req.prepare_payload();
    }
    req.keep_alive(false);
    http::write(stream, req, ec);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    auto on_chunk = [&](std::uint64_t, boost::string_view chunk, boost::system::error_code&) {
      on_data(std::string_view(chunk.data(), chunk.size()));
      return chunk.size();
    };
    parser.on_chunk_body(on_chunk);
    if (!ec) http::read(stream, buffer, parser, ec);
    if (ec && ec != http::error::end_of_stream)
      return failf(Errc::unavailable, "condenserd at {} closed the stream: {}", endpoint_.display(),
                   ec.message());
    auto& res = parser.get();
    if (res.result_int() >= 400) {
      HttpResult failed{res.result_int(), std::string(res[http::field::content_type]),
                        std::move(res.body())};
      return std::unexpected(Error(errc_from_http_status(failed.status), envelope_message(failed)));
    }
    if (!res.chunked() && !res.body().empty()) on_data(res.body());
    return ok();
  } catch (const boost::system::system_error& e) {
    return failf(Errc::unavailable, "stream from condenserd at {} failed: {}", endpoint_.display(),
                 e.what());
  }
}

Result<nlohmann::json> Client::call(std::string_view method, std::string_view target,
                                    const nlohmann::json& body) {
  RAIND_TRY_ASSIGN(auto res, request(method, target, body.is_null() ? "" : body.dump()));
  if (res.status >= 400) {
    const Errc code = errc_from_http_status(res.status);
    return std::unexpected(Error(code, envelope_message(res)));
  }
  auto j = nlohmann::json::parse(res.body, nullptr, false);
  if (!j.is_object() || j.value("status", "") != "success")
    return failf(Errc::internal, "unexpected response from condenserd: {}",
                 res.body.substr(0, 200));
  return j.contains("data") ? j["data"] : nlohmann::json();
}

}  // namespace raind::cli

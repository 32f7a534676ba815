#include "condenser/registry/http_connection.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <variant>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace raind::condenser::registry {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using ErrorCode = boost::system::error_code;

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Starts one asynchronous operation and runs the io_context until it completes.
template <class Start>
ErrorCode run_one_op(asio::io_context& io, Start&& start) {
  ErrorCode result = asio::error::would_block;
  bool done = false;
  start([&](ErrorCode ec, auto&&...) {
    result = ec;
    done = true;
  });
  io.restart();
  while (!done && io.run_one() != 0) {
  }
  return result;
}

std::string describe(const ErrorCode& ec) {
  if (ec == beast::error::timeout) return "timed out";
  return ec.message();
}

}  // namespace

std::string ResponseHead::header(std::string_view name) const {
  std::string want = lower(name);
  for (const auto& [k, v] : headers)
    if (k == want) return v;
  return {};
}

std::vector<std::string> ResponseHead::all(std::string_view name) const {
  std::string want = lower(name);
  std::vector<std::string> out;
  for (const auto& [k, v] : headers)
    if (k == want) out.push_back(v);
  return out;
}

struct HttpConnection::Impl {
  std::string origin_text;
  TransportOptions options;
  asio::io_context io;
  std::optional<ssl::context> tls_context;
  std::variant<std::unique_ptr<PlainStream>, std::unique_ptr<TlsStream>> stream;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::buffer_body>> parser;
  bool broken = false;
  bool head_request = false;

  PlainStream& lowest() {
    return std::visit([](auto& s) -> PlainStream& { return beast::get_lowest_layer(*s); }, stream);
  }
  template <class F>
  auto with_stream(F&& f) {
    return std::visit([&](auto& s) { return f(*s); }, stream);
  }
};

HttpConnection::HttpConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpConnection::~HttpConnection() {
  if (!impl_) return;
  ErrorCode ignored;
  impl_->lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
  impl_->lowest().socket().close(ignored);
}

const std::string& HttpConnection::origin() const {
  return impl_->origin_text;
}

Result<std::unique_ptr<HttpConnection>> HttpConnection::open(const Url& origin,
                                                             const TransportOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->origin_text = origin.origin();
  impl->options = options;
  auto where = origin.origin();

  tcp::resolver resolver(impl->io);
  tcp::resolver::results_type endpoints;
  ErrorCode ec = run_one_op(impl->io, [&](auto handler) {
    resolver.async_resolve(origin.host, origin.port,
                           [&, handler](ErrorCode e, tcp::resolver::results_type r) mutable {
                             endpoints = std::move(r);
                             handler(e);
                           });
  });
  if (ec)
    return failf(Errc::unavailable, "{}: cannot resolve {}: {}", where, origin.host, describe(ec));

  if (origin.scheme == "https") {
    impl->tls_context.emplace(ssl::context::tls_client);
    auto& ctx = *impl->tls_context;
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    if (options.verify_tls) {
      ctx.set_default_verify_paths(ec);
      if (!options.extra_ca_pem.empty()) {
        ctx.add_certificate_authority(asio::buffer(options.extra_ca_pem), ec);
        if (ec)
          return failf(Errc::invalid_argument, "{}: bad CA certificate: {}", where, ec.message());
      }
      ctx.set_verify_mode(ssl::verify_peer);
    } else {
      ctx.set_verify_mode(ssl::verify_none);
    }
    auto tls = std::make_unique<TlsStream>(impl->io, ctx);
    SSL* handle = tls->native_handle();
    ErrorCode not_ip;
    asio::ip::make_address(origin.host, not_ip);
    X509_VERIFY_PARAM* param = SSL_get0_param(handle);
    if (!not_ip) {
      X509_VERIFY_PARAM_set1_ip_asc(param, origin.host.c_str());
    } else {
      X509_VERIFY_PARAM_set1_host(param, origin.host.c_str(), 0);
      SSL_set_tlsext_host_name(handle, origin.host.c_str());
    }
    impl->stream = std::move(tls);
  } else {
    impl->stream = std::make_unique<PlainStream>(impl->io);
  }

  auto& lowest = impl->lowest();
  lowest.expires_after(options.connect_timeout);
  ec = run_one_op(impl->io, [&](auto handler) { lowest.async_connect(endpoints, handler); });
  if (ec) return failf(Errc::unavailable, "{}: connect: {}", where, describe(ec));
  lowest.socket().set_option(tcp::no_delay(true), ec);

  if (auto* tls = std::get_if<std::unique_ptr<TlsStream>>(&impl->stream)) {
    lowest.expires_after(options.connect_timeout);
    ec = run_one_op(impl->io, [&](auto handler) {
      (*tls)->async_handshake(ssl::stream_base::client, handler);
    });
    if (ec) {
      std::string detail = describe(ec);
      long verify = SSL_get_verify_result((*tls)->native_handle());
      if (verify != X509_V_OK)
        detail = std::string("certificate verification failed: ") +
                 X509_verify_cert_error_string(verify);
      return failf(Errc::unavailable, "{}: TLS handshake: {}", where, detail);
    }
  }
  return std::unique_ptr<HttpConnection>(new HttpConnection(std::move(impl)));
}

Result<ResponseHead> HttpConnection::send(std::string_view method, std::string_view target,
                                          const HeaderList& headers) {
  auto& s = *impl_;
  if (s.broken) return failf(Errc::unavailable, "{}: connection is broken", s.origin_text);
  http::request<http::empty_body> request;
  request.method_string(beast::string_view(method.data(), method.size()));
  request.target(beast::string_view(target.data(), target.size()));
  request.version(11);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.keep_alive(true);
  s.head_request = method == "HEAD";

  s.lowest().expires_after(s.options.io_timeout);
  ErrorCode ec = run_one_op(s.io, [&](auto handler) {
    s.with_stream([&](auto& stream) { http::async_write(stream, request, handler); });
  });
  if (ec) {
    s.broken = true;
    return failf(Errc::unavailable, "{}: send {} {}: {}", s.origin_text, method, target,
                 describe(ec));
  }
  s.parser.emplace();
  // Callers bound bodies themselves. (Not boost::none: Boost 1.74 compares the length with the
  // optional, and every length is greater than none.)
  s.parser->body_limit(std::numeric_limits<std::uint64_t>::max());
  if (s.head_request) s.parser->skip(true);
  s.lowest().expires_after(s.options.io_timeout);
  ec = run_one_op(s.io, [&](auto handler) {
    s.with_stream(
        [&](auto& stream) { http::async_read_header(stream, s.buffer, *s.parser, handler); });
  });
  if (ec) {
    s.broken = true;
    return failf(Errc::unavailable, "{}: response to {} {}: {}", s.origin_text, method, target,
                 describe(ec));
  }
  ResponseHead head;
  const auto& message = s.parser->get();
  head.status = message.result_int();
  for (const auto& field : message)
    head.headers.emplace_back(
        lower(std::string_view(field.name_string().data(), field.name_string().size())),
        std::string(field.value()));
  return head;
}

Status HttpConnection::read_body(const BodySink& sink, std::uint64_t max_bytes) {
  auto& s = *impl_;
  if (!s.parser) return failf(Errc::internal, "read_body without a response");
  std::array<char, 256 * 1024> chunk;
  std::uint64_t total = 0;
  while (!s.parser->is_done()) {
    s.parser->get().body().data = chunk.data();
    s.parser->get().body().size = chunk.size();
    s.lowest().expires_after(s.options.io_timeout);
    ErrorCode ec = run_one_op(s.io, [&](auto handler) {
      s.with_stream([&](auto& stream) { http::async_read(stream, s.buffer, *s.parser, handler); });
    });
    if (ec == http::error::need_buffer) ec = {};
    // Bytes the parser placed before an error still count: a resumed download starts after them.
    std::size_t n = chunk.size() - s.parser->get().body().size;
    if (ec && n > 0 && total + n <= max_bytes) {
      if (auto st = sink(std::string_view(chunk.data(), n)); !st) {
        s.broken = true;
        return st;
      }
      total += n;
      n = 0;
    }
    if (ec) {
      s.broken = true;
      return failf(Errc::unavailable, "{}: reading body after {} bytes: {}", s.origin_text, total,
                   describe(ec));
    }
    if (n == 0) continue;
    total += n;
    if (total > max_bytes) {
      s.broken = true;
      return failf(Errc::invalid_argument, "{}: response body exceeds {} bytes", s.origin_text,
                   max_bytes);
    }
    if (auto st = sink(std::string_view(chunk.data(), n)); !st) {
      s.broken = true;
      return st;
    }
  }
  return ok();
}

Result<std::string> HttpConnection::read_body_string(std::uint64_t max_bytes) {
  std::string out;
  RAIND_TRY(read_body(
      [&](std::string_view bytes) -> Status {
        out.append(bytes);
        return ok();
      },
      max_bytes));
  return out;
}

bool HttpConnection::reusable() const {
  const auto& s = *impl_;
  return !s.broken && s.parser && s.parser->is_done() && s.parser->get().keep_alive();
}

}  // namespace raind::condenser::registry

#include "condenser/api/server.hpp"

#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <list>
#include <set>

#include "condenser/api/authz.hpp"
#include "condenser/api/envelope.hpp"
#include "condenser/pki/ossl.hpp"
#include "raind/log.hpp"
#include "raind/ulid.hpp"

namespace raind::condenser::api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;
using Clock = std::chrono::steady_clock;

ServerLimits limits_from(const Limits& c) {
  ServerLimits l;
  l.header_bytes = c.header_bytes;
  l.body_bytes = c.body_bytes;
  l.request_timeout = std::chrono::seconds(c.request_timeout_s);
  l.idle_timeout = std::chrono::seconds(c.idle_timeout_s);
  l.max_connections = c.max_connections;
  return l;
}

Result<std::shared_ptr<ssl::context>> make_server_tls(const std::filesystem::path& cert,
                                                      const std::filesystem::path& key,
                                                      const std::filesystem::path& ca) {
  try {
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                     ssl::context::single_dh_use);
    ctx->use_certificate_chain_file(cert.string());
    ctx->use_private_key_file(key.string(), ssl::context::pem);
    ctx->load_verify_file(ca.string());
    // verify_peer without fail_if_no_peer_cert: a missing client certificate must reach the HTTP
    // layer to be answered (401) and audited; a certificate that does not verify still fails.
    ctx->set_verify_mode(ssl::verify_peer);
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(ca.c_str()))
      SSL_CTX_set_client_CA_list(native, names);
    SSL_CTX_set_num_tickets(native, 0);  // no resumption: every connection presents its cert
    return ctx;
  } catch (const boost::system::system_error& e) {
    return failf(Errc::internal, "load tls material ({}, {}): {}", cert.string(), key.string(),
                 e.what());
  }
}

class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void stop() = 0;
  virtual void abort() = 0;
};

struct ListenerState {
  ListenerKind kind;
  const Router* router = nullptr;
  std::size_t active = 0;
  std::string local;
  std::unique_ptr<asio::ip::tcp::acceptor> tcp;
  std::unique_ptr<asio::local::stream_protocol::acceptor> unix_sock;
  std::filesystem::path unix_path;
};

struct Server::Shared {
  asio::io_context& io;
  AuditLog& audit;
  ServerLimits limits;
  std::shared_ptr<ssl::context> tls;
  bool stopping = false;
  std::list<ListenerState> listeners;
  std::set<SessionBase*> sessions;
};

namespace {

bool is_close_error(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == ssl::error::stream_truncated || ec == http::error::end_of_stream ||
         ec == asio::error::broken_pipe;
}

template <class Stream>
class WebSocketSession : public WebSocketChannel {
 public:
  explicit WebSocketSession(Stream& next) : ws_(next) {}
  beast::websocket::stream<Stream&>& ws() { return ws_; }

  awaitable<Result<std::string>> read() override {
    beast::flat_buffer buffer;
    boost::system::error_code ec;
    co_await ws_.async_read(buffer, redirect_error(use_awaitable, ec));
    if (ec) co_return failf(Errc::unavailable, "websocket: {}", ec.message());
    co_return beast::buffers_to_string(buffer.data());
  }
  awaitable<Status> write(std::string_view payload) override {
    boost::system::error_code ec;
    ws_.binary(true);
    co_await ws_.async_write(asio::buffer(payload.data(), payload.size()),
                             redirect_error(use_awaitable, ec));
    if (ec) co_return failf(Errc::unavailable, "websocket: {}", ec.message());
    co_return ok();
  }
  awaitable<void> close(std::uint16_t code, std::string reason) override {
    boost::system::error_code ec;
    if (ws_.is_open())
      co_await ws_.async_close(
          beast::websocket::close_reason(static_cast<beast::websocket::close_code>(code), reason),
          redirect_error(use_awaitable, ec));
  }

 private:
  beast::websocket::stream<Stream&> ws_;
};

template <class Socket>
class Session : public SessionBase {
 public:
  Session(std::shared_ptr<Server::Shared> shared, ListenerState& listener, Socket socket, Peer peer)
      : shared_(std::move(shared)),
        listener_(listener),
        tls_(shared_->tls),
        stream_(std::move(socket), *tls_),
        timer_(stream_.get_executor()) {
    peer_ = std::move(peer);
    ++listener_.active;
    shared_->sessions.insert(this);
  }
  ~Session() override {
    --listener_.active;
    shared_->sessions.erase(this);
  }

  void stop() override {
    stopping_ = true;
    if (idle_) cancel_io();
  }
  void abort() override {
    stopping_ = true;
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream_).close(ignored);
  }

  awaitable<void> run(std::shared_ptr<Session> self) {
    asio::co_spawn(stream_.get_executor(), watchdog(self), asio::detached);
    co_await handshake();
    if (handshake_ok_) {
      beast::flat_buffer buffer;
      while (!stopping_) {
        if (buffer.size() == 0) {
          // Wait for the first byte of the next request under the idle deadline; a request
          // that has begun is then under the (shorter) request deadline.
          idle_ = true;
          set_deadline(shared_->limits.idle_timeout);
          boost::system::error_code ec;
          std::size_t n = co_await stream_.async_read_some(buffer.prepare(4096),
                                                           redirect_error(use_awaitable, ec));
          idle_ = false;
          if (ec || stopping_) break;
          buffer.commit(n);
        }
        if (!co_await serve_one(buffer)) break;
      }
      set_deadline(std::chrono::milliseconds(500));
      boost::system::error_code ec;
      co_await stream_.async_shutdown(redirect_error(use_awaitable, ec));
    }
    done_ = true;
    timer_.cancel();
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream_).close(ignored);
  }

 private:
  void cancel_io() {
    boost::system::error_code ignored;
    beast::get_lowest_layer(stream_).cancel(ignored);
  }

  void set_deadline(Clock::duration d) {
    deadline_ = Clock::now() + d;
    timed_out_ = false;
    timer_.cancel();  // wake the watchdog so it re-arms for the new deadline
  }

  awaitable<void> watchdog(std::shared_ptr<Session> self) {
    while (!done_) {
      timer_.expires_at(deadline_);
      boost::system::error_code ec;
      co_await timer_.async_wait(redirect_error(use_awaitable, ec));
      if (done_) break;
      if (Clock::now() >= deadline_) {
        timed_out_ = true;
        deadline_ = Clock::time_point::max();
        cancel_io();
      }
    }
    (void)self;
  }

  awaitable<void> handshake() {
    set_deadline(shared_->limits.request_timeout);
    // Remember the leaf the client presented even if verification fails, for the audit record.
    stream_.set_verify_callback([this](bool preverified, ssl::verify_context& vctx) {
      X509_STORE_CTX* store = vctx.native_handle();
      if (X509_STORE_CTX_get_error_depth(store) == 0 && !handshake_peer_.has_cert) {
        X509* cert = X509_STORE_CTX_get_current_cert(store);
        handshake_peer_.has_cert = cert != nullptr;
        handshake_peer_.fingerprint = ossl::cert_fingerprint(cert);
        handshake_peer_.uri_sans = ossl::cert_uri_sans(cert);
      }
      return preverified;
    });
    boost::system::error_code ec;
    co_await stream_.async_handshake(ssl::stream_base::server, redirect_error(use_awaitable, ec));
    if (!ec) {
      handshake_ok_ = true;
      ossl::X509Ptr cert(SSL_get1_peer_certificate(stream_.native_handle()));
      if (cert) {
        peer_.has_cert = true;
        peer_.fingerprint = ossl::cert_fingerprint(cert.get());
        peer_.uri_sans = ossl::cert_uri_sans(cert.get());
      }
      co_return;
    }
    // A bare connect-and-close (port probe, health check) is not a request; anything that got
    // as far as presenting a certificate, or failed TLS otherwise, is an audited denial.
    if (is_close_error(ec) && !handshake_peer_.has_cert) co_return;
    AuditEvent ev = new_event();
    ev.peer = handshake_peer_;
    ev.peer.address = peer_.address;
    ev.peer.uid = peer_.uid;
    ev.peer.pid = peer_.pid;
    ev.action = "tls.handshake";
    ev.base_severity = Severity::medium;
    ev.code = 0;
    ev.reason = timed_out_ ? std::string("tls handshake timed out")
                           : "tls handshake failed: " + ec.message();
    finish_event(ev, Clock::now());
    logger("condenser.api")
        ->info("{} listener: {} from {}", listener_name(listener_.kind), ev.reason, peer_.address);
  }

  AuditEvent new_event() {
    AuditEvent ev;
    ev.started = std::chrono::system_clock::now();
    ev.event_id = new_ulid();
    ev.correlation_id = new_ulid();
    ev.listener = listener_.kind;
    ev.peer = peer_;
    ev.host = listener_.local;
    return ev;
  }

  void finish_event(AuditEvent& ev, Clock::time_point t0) {
    ev.latency_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    shared_->audit.write(ev);
  }

  // Reads, authorises, dispatches and answers one request; false closes the connection.
  awaitable<bool> serve_one(beast::flat_buffer& buffer) {
    const auto t0 = Clock::now();
    AuditEvent ev = new_event();
    ev.action = "http.bad_request";
    ev.base_severity = Severity::low;
    const ServerLimits limits = shared_->limits;

    http::request_parser<http::string_body> parser;
    parser.header_limit(limits.header_bytes);
    // The body limit is decided per route once the header is known.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    set_deadline(limits.request_timeout);
    boost::system::error_code ec;
    co_await http::async_read_header(stream_, buffer, parser, redirect_error(use_awaitable, ec));

    ApiResponse resp;
    std::vector<std::string> allow;
    unsigned version = 11;
    ApiRequest req;
    if (ec) {
      if (timed_out_) {
        ev.action = "http.request_timeout";
        resp = failure(408, fmt::format("request header not complete within {} ms",
                                        limits.request_timeout.count()));
      } else if (ec == http::error::header_limit) {
        resp = failure(431, fmt::format("request header exceeds {} bytes", limits.header_bytes));
      } else if (is_close_error(ec) || ec == asio::error::operation_aborted) {
        ev.code = 400;
        ev.reason = "connection closed before the request was complete";
        finish_event(ev, t0);
        co_return false;
      } else {
        resp = failure(400, "malformed request: " + ec.message());
      }
      resp.close = true;
    } else {
      auto& msg = parser.get();
      version = msg.version();
      req.listener = listener_.kind;
      req.method = std::string(msg.method_string());
      const auto raw_target = msg.target();
      std::string_view target(raw_target.data(), raw_target.size());
      auto q = target.find('?');
      req.path = std::string(target.substr(0, q));
      if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
      req.host = std::string(msg[http::field::host]);  // beast string_view → std::string
      for (const auto& field : msg) {
        std::string name(field.name_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        req.headers[name] = std::string(field.value());
      }
      req.content_type = req.header("content-type");
      req.peer = peer_;
      ev.method = req.method;
      ev.path = req.path;
      if (!req.host.empty()) ev.host = req.host;
      ev.client_request_id = req.header("x-request-id").substr(0, 128);

      const Match match = listener_.router->match(req.method, req.path);
      if (match.kind == MatchKind::found) {
        ev.action = match.route->action;
        ev.base_severity = match.route->severity;
      } else if (match.kind == MatchKind::method_not_allowed) {
        ev.action = "http.method_not_allowed";
      } else {
        ev.action = "http.not_found";
      }
      const auto content_length = parser.content_length();
      const bool has_body = msg.chunked() || (content_length && *content_length > 0);

      const AuthzDecision decision = authorize(listener_.kind, peer_);
      if (!decision.allowed()) {
        resp = failure(decision.status, decision.message);
        resp.close = has_body;  // do not read a body for someone we will not serve
      } else if (match.kind == MatchKind::not_found) {
        resp = failure(404, fmt::format("no route for {} {}", req.method, req.path));
        resp.close = has_body;
      } else if (match.kind == MatchKind::method_not_allowed) {
        resp = failure(405, fmt::format("method {} not allowed on {}", req.method, req.path));
        allow = match.allowed;
        resp.close = has_body;
      } else {
        const std::uint64_t limit =
            match.route->body_limit ? match.route->body_limit : limits.body_bytes;
        if (content_length && *content_length > limit) {
          resp = failure(413, fmt::format("request body exceeds {} bytes", limit));
          resp.close = true;
        } else {
          parser.body_limit(limit);
          if (!parser.is_done())
            co_await http::async_read(stream_, buffer, parser, redirect_error(use_awaitable, ec));
          if (ec) {
            resp.close = true;
            if (timed_out_) {
              resp = failure(408, fmt::format("request body not complete within {} ms",
                                              limits.request_timeout.count()));
            } else if (ec == http::error::body_limit) {
              resp = failure(413, fmt::format("request body exceeds {} bytes", limit));
            } else if (is_close_error(ec)) {
              ev.code = 400;
              ev.reason = "connection closed before the request body was complete";
              finish_event(ev, t0);
              co_return false;
            } else {
              resp = failure(400, "malformed request body: " + ec.message());
            }
            resp.close = true;
          } else {
            req.body = std::move(parser.get().body());
            req.params = match.params;
            req.identity = decision.identity;
            try {
              resp = co_await match.route->handler(req);
            } catch (const std::exception& e) {
              logger("condenser.api")
                  ->error("{} {}: handler threw: {}", req.method, req.path, e.what());
              resp = failure(500, "internal error");
            }
            if (!req.audit_action.empty()) ev.action = req.audit_action;
            ev.target = req.audit_target;
            ev.extra = req.audit_extra;
            if (resp.stream && resp.status < 300) co_return co_await serve_stream(resp, ev, t0);
            if (resp.upgrade) {
              if (!beast::websocket::is_upgrade(parser.get())) {
                resp = failure(400, "this endpoint needs a WebSocket upgrade");
              } else {
                co_return co_await serve_websocket(parser.get(), resp, ev, t0);
              }
            }
          }
        }
      }
      if (!parser.get().keep_alive()) resp.close = true;
    }

    const bool keep_alive = !resp.close && !stopping_;
    http::response<http::string_body> res{static_cast<http::status>(resp.status), version};
    res.set(http::field::server, "condenserd");
    res.set(http::field::content_type, resp.content_type);
    res.set("X-Correlation-Id", ev.correlation_id);
    if (!allow.empty()) {
      std::string joined;
      for (const auto& m : allow) joined += (joined.empty() ? "" : ", ") + m;
      res.set(http::field::allow, joined);
    }
    res.keep_alive(keep_alive);
    res.body() = std::move(resp.body);
    res.prepare_payload();
    ev.code = resp.status;
    ev.reason = resp.message;
    ev.bytes = res.body().size();
    set_deadline(limits.request_timeout);
    co_await http::async_write(stream_, res, redirect_error(use_awaitable, ec));
    finish_event(ev, t0);
    co_return keep_alive && !ec;
  }

  class StreamSink : public ChunkSink {
   public:
    explicit StreamSink(ssl::stream<Socket>& stream) : stream_(stream) {}
    awaitable<bool> write(std::string_view bytes) override {
      if (bytes.empty() || failed_) co_return !failed_;
      boost::system::error_code ec;
      co_await asio::async_write(stream_,
                                 http::make_chunk(asio::buffer(bytes.data(), bytes.size())),
                                 redirect_error(use_awaitable, ec));
      if (ec) failed_ = true;
      sent_ += bytes.size();
      co_return !failed_;
    }
    std::size_t sent() const { return sent_; }
    bool failed() const { return failed_; }

   private:
    ssl::stream<Socket>& stream_;
    bool failed_ = false;
    std::size_t sent_ = 0;
  };

  // A chunked response whose body the handler produces as it goes; the connection then closes.
  awaitable<bool> serve_stream(ApiResponse& resp, AuditEvent& ev, Clock::time_point t0) {
    deadline_ = Clock::time_point::max();  // a followed log may stay open for hours
    timer_.cancel();
    http::response<http::empty_body> res{static_cast<http::status>(resp.status), 11};
    res.set(http::field::server, "condenserd");
    res.set(http::field::content_type, resp.content_type);
    res.set("X-Correlation-Id", ev.correlation_id);
    res.chunked(true);
    res.keep_alive(false);
    http::response_serializer<http::empty_body> header{res};
    boost::system::error_code ec;
    co_await http::async_write_header(stream_, header, redirect_error(use_awaitable, ec));
    StreamSink sink(stream_);
    if (!ec) {
      try {
        co_await resp.stream(sink);
      } catch (const std::exception& e) {
        logger("condenser.api")->error("{}: stream handler threw: {}", ev.path, e.what());
      }
      if (!sink.failed())
        co_await asio::async_write(stream_, http::make_chunk_last(),
                                   redirect_error(use_awaitable, ec));
    }
    ev.code = resp.status;
    ev.reason = resp.message;
    ev.bytes = sink.sent();
    finish_event(ev, t0);
    co_return false;
  }

  // Completes the upgrade and hands the connection to the handler; it ends with the session.
  awaitable<bool> serve_websocket(http::request<http::string_body>& request, ApiResponse& resp,
                                  AuditEvent& ev, Clock::time_point t0) {
    deadline_ = Clock::time_point::max();  // a terminal may stay idle for hours
    timer_.cancel();
    WebSocketSession<ssl::stream<Socket>> session(stream_);
    session.ws().binary(true);
    session.ws().set_option(beast::websocket::stream_base::decorator(
        [](beast::websocket::response_type& r) { r.set(http::field::server, "condenserd"); }));
    boost::system::error_code ec;
    co_await session.ws().async_accept(request, redirect_error(use_awaitable, ec));
    if (ec) {
      ev.code = 400;
      ev.reason = "websocket handshake failed: " + ec.message();
      finish_event(ev, t0);
      co_return false;
    }
    try {
      co_await resp.upgrade(session);
    } catch (const std::exception& e) {
      logger("condenser.api")->error("{}: websocket handler threw: {}", ev.path, e.what());
    }
    ev.code = 101;
    ev.reason = resp.message.empty() ? "websocket session ended" : resp.message;
    finish_event(ev, t0);
    co_return false;
  }

  std::shared_ptr<Server::Shared> shared_;
  ListenerState& listener_;
  std::shared_ptr<ssl::context> tls_;  // outlives the stream that references it
  ssl::stream<Socket> stream_;
  asio::steady_timer timer_;
  Clock::time_point deadline_ = Clock::time_point::max();
  Peer peer_;
  Peer handshake_peer_;
  bool timed_out_ = false;
  bool done_ = false;
  bool idle_ = false;
  bool stopping_ = false;
  bool handshake_ok_ = false;
};

template <class Acceptor, class Socket>
awaitable<void> accept_loop(std::shared_ptr<Server::Shared> shared, ListenerState& listener,
                            Acceptor& acceptor) {
  auto log = logger("condenser.api");
  while (!shared->stopping) {
    boost::system::error_code ec;
    Socket socket(acceptor.get_executor());
    co_await acceptor.async_accept(socket, redirect_error(use_awaitable, ec));
    if (shared->stopping) break;
    if (ec) {
      if (ec == asio::error::operation_aborted) break;
      log->warn("{} listener: accept: {}", listener_name(listener.kind), ec.message());
      // EMFILE and friends: back off instead of spinning.
      asio::steady_timer pause(acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await pause.async_wait(redirect_error(use_awaitable, ec));
      continue;
    }
    Peer peer;
    peer.address = "unix";
    if constexpr (std::is_same_v<Socket, asio::ip::tcp::socket>) {
      auto ep = socket.remote_endpoint(ec);
      if (!ec) peer.address = ep.address().to_string();
      // Headers and body leave as separate TLS records: without this, Nagle holds the second
      // until the client's delayed ACK (40 ms per request).
      socket.set_option(asio::ip::tcp::no_delay(true), ec);
    } else {
      ucred cred{};
      socklen_t len = sizeof cred;
      if (getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
        peer.uid = static_cast<long>(cred.uid);
        peer.pid = static_cast<long>(cred.pid);
      }
    }
    if (listener.active >= shared->limits.max_connections) {
      // Refused before TLS: no identity yet, but the refusal is audited like any denial.
      log->warn("{} listener: connection limit {} reached, refusing {}",
                listener_name(listener.kind), shared->limits.max_connections, peer.address);
      AuditEvent ev;
      ev.started = std::chrono::system_clock::now();
      ev.event_id = new_ulid();
      ev.correlation_id = ev.event_id;
      ev.base_severity = Severity::medium;
      ev.action = "connection.refused";
      ev.peer = peer;
      ev.listener = listener.kind;
      ev.host = listener.local;
      ev.code = 503;
      ev.reason = fmt::format("connection limit {} reached", shared->limits.max_connections);
      shared->audit.write(ev);
      socket.close(ec);
      continue;
    }
    auto session =
        std::make_shared<Session<Socket>>(shared, listener, std::move(socket), std::move(peer));
    asio::co_spawn(acceptor.get_executor(), session->run(session), asio::detached);
  }
}

}  // namespace

Server::Server(asio::io_context& io, AuditLog& audit, ServerLimits limits)
    : shared_(std::make_shared<Shared>(Shared{io, audit, limits, nullptr, false, {}, {}})) {}

Server::~Server() {
  stop();
  abort_all();
}

Result<std::string> Server::listen_tcp(ListenerKind kind, const ListenAddress& address,
                                       const Router& router) {
  auto& l = shared_->listeners.emplace_back();
  l.kind = kind;
  l.router = &router;
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(address.host, ec);
  if (ec)
    return failf(Errc::invalid_argument, "listen address {}: {}", address.str(), ec.message());
  asio::ip::tcp::endpoint ep(ip, address.port);
  l.tcp = std::make_unique<asio::ip::tcp::acceptor>(shared_->io);
  l.tcp->open(ep.protocol(), ec);
  if (!ec) l.tcp->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) l.tcp->bind(ep, ec);
  if (!ec) l.tcp->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    shared_->listeners.pop_back();
    return failf(Errc::system, "listen on {} ({} api): {}", address.str(), listener_name(kind),
                 ec.message());
  }
  auto local = l.tcp->local_endpoint();
  ListenAddress bound{local.address().to_string(), local.port()};
  l.local = bound.str();
  return l.local;
}

Status Server::listen_unix(ListenerKind kind, const std::filesystem::path& path,
                           const Router& router) {
  auto& l = shared_->listeners.emplace_back();
  l.kind = kind;
  l.router = &router;
  l.unix_path = path;
  l.local = "unix:" + path.string();
  ::unlink(path.c_str());  // a stale socket from a previous run
  boost::system::error_code ec;
  l.unix_sock = std::make_unique<asio::local::stream_protocol::acceptor>(shared_->io);
  asio::local::stream_protocol::endpoint ep(path.string());
  l.unix_sock->open(ep.protocol(), ec);
  if (!ec) l.unix_sock->bind(ep, ec);
  if (!ec) l.unix_sock->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    shared_->listeners.pop_back();
    return failf(Errc::system, "listen on unix socket {}: {}", path.string(), ec.message());
  }
  if (::chmod(path.c_str(), 0660) != 0) return fail_errno("chmod " + path.string());
  return ok();
}

void Server::start() {
  for (auto& l : shared_->listeners) {
    if (l.tcp)
      asio::co_spawn(
          shared_->io,
          accept_loop<asio::ip::tcp::acceptor, asio::ip::tcp::socket>(shared_, l, *l.tcp),
          asio::detached);
    if (l.unix_sock)
      asio::co_spawn(
          shared_->io,
          accept_loop<asio::local::stream_protocol::acceptor, asio::local::stream_protocol::socket>(
              shared_, l, *l.unix_sock),
          asio::detached);
  }
}

void Server::stop() {
  if (shared_->stopping) return;
  shared_->stopping = true;
  boost::system::error_code ignored;
  for (auto& l : shared_->listeners) {
    if (l.tcp) l.tcp->close(ignored);
    if (l.unix_sock) {
      l.unix_sock->close(ignored);
      ::unlink(l.unix_path.c_str());
    }
  }
  std::vector<SessionBase*> sessions(shared_->sessions.begin(), shared_->sessions.end());
  for (auto* s : sessions) s->stop();
}

void Server::abort_all() {
  std::vector<SessionBase*> sessions(shared_->sessions.begin(), shared_->sessions.end());
  for (auto* s : sessions) s->abort();
}

std::size_t Server::connections() const {
  return shared_->sessions.size();
}

void Server::set_tls(std::shared_ptr<ssl::context> tls) {
  shared_->tls = std::move(tls);
}

void Server::set_limits(ServerLimits limits) {
  shared_->limits = limits;
}

}  // namespace raind::condenser::api

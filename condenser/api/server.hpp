#pragma once
// HTTPS listeners (TCP and unix socket) on one io_context with C++20 coroutines. Per connection:
// TLS 1.3 with a client certificate requested (not required at the TLS layer, so a missing one
// becomes an audited 401; a certificate from another CA still fails the handshake), HTTP/1.1
// keep-alive, header/body limits, a request deadline (slowloris → 408 and close), an idle
// keep-alive deadline, and a per-listener connection cap. Every request is audited exactly once.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "condenser/api/audit.hpp"
#include "condenser/api/router.hpp"
#include "condenser/config/config.hpp"

namespace raind::condenser::api {

struct ServerLimits {
  std::uint32_t header_bytes = 16 * 1024;
  std::uint64_t body_bytes = 1024 * 1024;
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::uint32_t max_connections = 256;
};
ServerLimits limits_from(const Limits& config);

// Server TLS context: TLS 1.3 only, server cert/key, client certs verified against ca.crt.
Result<std::shared_ptr<boost::asio::ssl::context>> make_server_tls(
    const std::filesystem::path& cert, const std::filesystem::path& key,
    const std::filesystem::path& ca);

class Server {
 public:
  Server(boost::asio::io_context& io, AuditLog& audit, ServerLimits limits);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds immediately (so port 0 resolves now) and returns the bound "host:port".
  Result<std::string> listen_tcp(ListenerKind kind, const ListenAddress& address,
                                 const Router& router);
  Status listen_unix(ListenerKind kind, const std::filesystem::path& path, const Router& router);
  void start();
  // Stops accepting; idle connections close now, busy ones after their current response.
  void stop();
  // Closes every connection (drain deadline passed).
  void abort_all();
  std::size_t connections() const;

  // Used by new connections only; established ones keep their context.
  void set_tls(std::shared_ptr<boost::asio::ssl::context> tls);
  void set_limits(ServerLimits limits);

  struct Shared;

 private:
  std::shared_ptr<Shared> shared_;
};

}  // namespace raind::condenser::api

#pragma once
// Synchronous HTTPS+mTLS client for condenserd (Beast). Client material, in --pki-dir /
// RAIND_PKI_DIR (default /etc/raind/pki): cli.crt, cli.key (the client identity
// spiffe://raind/cli/admin) and ca.crt (the only trust root for the server).
// Errors are phrased for operators: they say what to do next.
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <nlohmann/json.hpp>

#include "raind/error.hpp"

namespace raind::cli {

inline constexpr std::string_view kDefaultPkiDir = "/etc/raind/pki";
inline constexpr std::string_view kDefaultHost = "https://127.0.0.1:7755";

struct ClientOptions {
  std::filesystem::path pki_dir = std::string(kDefaultPkiDir);
  std::string host = std::string(kDefaultHost);  // https://HOST:PORT
  std::chrono::seconds timeout{30};
};

struct Endpoint {
  std::string host;
  std::string port;
  std::string display() const { return host + ":" + port; }
};
// "https://127.0.0.1:7755", "127.0.0.1:7755", "localhost" (port 7755).
Result<Endpoint> parse_host(std::string_view text);

struct HttpResult {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

// One mutually authenticated TLS connection to condenserd, for protocols that take over the
// connection (the WebSocket attach).
struct TlsConnection {
  boost::asio::io_context io;
  boost::asio::ssl::context ctx{boost::asio::ssl::context::tls_client};
  std::optional<boost::beast::ssl_stream<boost::beast::tcp_stream>> stream;
};

class Client {
 public:
  static Result<Client> create(ClientOptions options);
  // Raw exchange; transport failures are errors, any HTTP status is a result.
  Result<HttpResult> request(std::string_view method, std::string_view target,
                             std::string_view body = {},
                             std::string_view content_type = "application/json");
  // JSON API call: returns the envelope's data, or the daemon's message as the error.
  Result<nlohmann::json> call(std::string_view method, std::string_view target,
                              const nlohmann::json& body = nullptr);

  Result<std::unique_ptr<TlsConnection>> connect();
  // GET with the body handed to `on_data` piece by piece as it arrives (a chunked stream such as
  // `logs?follow=1`), without a deadline. An error status becomes the daemon's message.
  Status stream(std::string_view target, const std::function<void(std::string_view)>& on_data,
                std::string_view method = "GET", std::string_view body = {});

  const Endpoint& endpoint() const { return endpoint_; }

 private:
  ClientOptions options_;
  Endpoint endpoint_;
  std::string cert_pem_, key_pem_, ca_pem_;
};

}  // namespace raind::cli

#pragma once
// One blocking HTTP/1.1 client connection (plain TCP or TLS) for the registry client's worker
// threads. Each connection owns its io_context and runs it only while an operation is in
// flight, so every read, write and connect has a deadline (beast::tcp_stream closes the socket
// when it expires) without a thread of its own. Responses are read head first, then the body in
// chunks, so blobs stream straight to disk. Connections are reused while the server keeps them
// alive.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "condenser/registry/url.hpp"
#include "raind/error.hpp"

namespace raind::condenser::registry {

struct TransportOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds io_timeout{30'000};  // any single read or write
  bool verify_tls = true;
  std::string extra_ca_pem;  // trusted in addition to the system store (certs.d)
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct ResponseHead {
  unsigned status = 0;
  HeaderList headers;  // names lower-cased
  std::string header(std::string_view name) const;
  std::vector<std::string> all(std::string_view name) const;
};

// Receives body bytes; an error stops the transfer (the connection is then not reused).
using BodySink = std::function<Status(std::string_view)>;

class HttpConnection {
 public:
  // Connects (and for https completes the handshake, verifying the certificate against
  // origin.host unless verify_tls is off).
  static Result<std::unique_ptr<HttpConnection>> open(const Url& origin,
                                                      const TransportOptions& options);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends a request without a body and reads the response head.
  Result<ResponseHead> send(std::string_view method, std::string_view target,
                            const HeaderList& headers);
  // Reads the body of the last response; more than max_bytes is an error.
  Status read_body(const BodySink& sink, std::uint64_t max_bytes);
  Result<std::string> read_body_string(std::uint64_t max_bytes);
  // True when the last exchange completed and the server keeps the connection open.
  bool reusable() const;
  const std::string& origin() const;

 private:
  struct Impl;
  explicit HttpConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace raind::condenser::registry

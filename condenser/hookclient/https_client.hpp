#pragma once
// A small synchronous HTTPS client with mutual TLS for the hook client: one request per
// connection, over TCP or a unix stream socket, with an overall deadline.
#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "raind/error.hpp"

namespace raind::condenser::hookclient {

struct TlsMaterial {
  std::string ca_pem;    // trust root for the server certificate
  std::string cert_pem;  // client certificate presented to the server
  std::string key_pem;
};

// Either a TCP host:port or a unix socket path. `server_name` is the name the server certificate
// must carry: an IP literal is checked against IP SANs, anything else against DNS SANs.
struct HttpsEndpoint {
  std::string host;
  std::string port;
  std::filesystem::path unix_path;  // non-empty: connect here instead of host:port
  std::string server_name;

  static HttpsEndpoint tcp(std::string host, std::string port);
  static HttpsEndpoint unix_socket(std::filesystem::path path, std::string server_name);
  std::string display() const;
};

struct HttpsRequest {
  std::string method = "POST";
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string content_type;
  std::string body;
};

struct HttpsReply {
  unsigned status = 0;
  std::string content_type;
  std::string body;
};

inline constexpr std::chrono::seconds kDefaultHttpsTimeout{10};

// Connects, handshakes (verifying the server against tls.ca_pem and endpoint.server_name), sends
// the request and reads the full response. Transport failures are Errc::unavailable, expiry of
// the deadline Errc::timeout; any HTTP status is a successful reply.
Result<HttpsReply> https_request(const HttpsEndpoint& endpoint, const TlsMaterial& tls,
                                 const HttpsRequest& request,
                                 std::chrono::milliseconds timeout = kDefaultHttpsTimeout);

// The error a non-2xx reply stands for: the code follows the status, the message is the
// envelope's "message" (or the start of the body).
Error reply_error(const HttpsReply& reply);

}  // namespace raind::condenser::hookclient

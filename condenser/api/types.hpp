#pragma once
// Transport-independent request/response types seen by routes and handlers, so handlers and the
// router can be unit-tested without sockets.
#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "condenser/pki/spiffe.hpp"
#include "raind/error.hpp"

namespace raind::condenser::api {

enum class ListenerKind { management, hooks, ca };
std::string_view listener_name(ListenerKind kind);

enum class Severity { information, low, medium, high, critical };
std::string_view severity_name(Severity s);
Severity raise(Severity s);

// What the TLS layer learned about the client.
struct Peer {
  bool has_cert = false;
  std::string fingerprint;            // sha256 of the leaf DER, hex
  std::vector<std::string> uri_sans;  // every URI SAN of the leaf
  std::string address;                // "127.0.0.1" or "unix"
  // Unix-socket peers: the kernel's SO_PEERCRED view of the caller (-1 when not known).
  long uid = -1;
  long pid = -1;
};

struct ApiRequest {
  ListenerKind listener = ListenerKind::management;
  std::string method;
  std::string path;   // without the query
  std::string query;  // raw, without '?'
  std::string host;
  std::string body;
  std::string content_type;
  std::map<std::string, std::string> headers;  // lower-case names (only the ones handlers need)
  std::map<std::string, std::string> params;   // from the route pattern
  Peer peer;
  SpiffeId identity;  // authorised caller

  // Handlers add audit detail here: target keys (container_id, policy_id, common_name,
  // san_uri…), an action override (hook.<event>) and free-form extra.
  nlohmann::json audit_target = nlohmann::json::object();
  nlohmann::json audit_extra = nlohmann::json::object();
  std::string audit_action;

  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// A WebSocket connection handed to a handler after the upgrade (attach). Binary messages only;
// one read and one write may be outstanding at once (the io_context is single-threaded).
class WebSocketChannel {
 public:
  virtual ~WebSocketChannel() = default;
  // The next message's payload; an error once the peer closed or the connection broke.
  virtual boost::asio::awaitable<Result<std::string>> read() = 0;
  virtual boost::asio::awaitable<Status> write(std::string_view payload) = 0;
  virtual boost::asio::awaitable<void> close(std::uint16_t code, std::string reason) = 0;
};

// The body of a streamed response (chunked transfer encoding), e.g. `logs?follow=1`.
class ChunkSink {
 public:
  virtual ~ChunkSink() = default;
  // False once the client is gone: stop producing.
  virtual boost::asio::awaitable<bool> write(std::string_view bytes) = 0;
};

struct ApiResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::string message;  // the envelope message, for the audit record's reason
  bool close = false;   // close the connection after this response
  // Set on a successful answer to a WebSocket upgrade request: the server completes the
  // handshake and runs this with the connection (audited as status 101 when it ends).
  std::function<boost::asio::awaitable<void>(WebSocketChannel&)> upgrade;
  // Set for a streamed body: the status and content type go out first, then whatever this
  // writes, until it returns; the connection closes afterwards.
  std::function<boost::asio::awaitable<void>(ChunkSink&)> stream;
};

}  // namespace raind::condenser::api

#pragma once
// Shared by the load tests (tests/integration/load) and the soak test (tests/soak/condenser):
// a keep-alive mTLS client for the management API (one per client thread), latency summaries,
// what /proc says about condenserd (RSS, open fds, threads).
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "../condenser/harness.hpp"

namespace raind::testing::load {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using Clock = std::chrono::steady_clock;

struct Answer {
  unsigned status = 0;  // 0: no HTTP response (see error)
  std::string body;
  std::string error;
  double micros = 0;            // request written → response read (connect included if fresh)
  bool new_connection = false;  // a TLS handshake was part of this request
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
  // The envelope's data; an empty object when there is none (so value() never throws).
  nlohmann::json data() const {
    auto j = json();
    if (j.is_object() && j.contains("data") && (j["data"].is_object() || j["data"].is_array()))
      return j["data"];
    return nlohmann::json::object();
  }
};

// One client of the management API: keeps its TLS connection open between requests (HTTP/1.1
// keep-alive) and opens a new one when asked, when the server closed the last one, or when it
// has been idle long enough that the server's idle timeout may have closed it.
class ApiClient {
 public:
  ApiClient(std::string endpoint, const Identity& id, const std::string& ca_pem,
            std::chrono::seconds timeout = std::chrono::seconds(90))
      : endpoint_(std::move(endpoint)), ctx_(ssl::context::tls_client), timeout_(timeout) {
    SSL_CTX_set_min_proto_version(ctx_.native_handle(), TLS1_3_VERSION);
    ctx_.add_certificate_authority(asio::buffer(ca_pem));
    ctx_.use_certificate_chain(asio::buffer(id.cert_pem));
    ctx_.use_private_key(asio::buffer(id.key_pem), ssl::context::pem);
    ctx_.set_verify_mode(ssl::verify_peer);
  }

  // `fresh`: this request goes over a connection of its own (handshake, request, close).
  // `headers`: extra "Name: value" lines.
  Answer request(const std::string& method, const std::string& target, const std::string& body = {},
                 bool fresh = false, const std::vector<std::string>& headers = {}) {
    Answer answer;
    const auto t0 = Clock::now();
    if (fresh || !stream_ || Clock::now() - last_used_ > kIdleReconnect) {
      stream_.reset();
      if (auto error = connect(); !error.empty()) {
        answer.error = error;
        return answer;
      }
      answer.new_connection = true;
    }
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, endpoint_);
    req.keep_alive(!fresh);
    for (const auto& h : headers) {
      const auto colon = h.find(':');
      req.set(h.substr(0, colon), h.substr(h.find_first_not_of(' ', colon + 1)));
    }
    if (!body.empty() || method == "POST") {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
      req.prepare_payload();
    }
    beast::error_code ec =
        run_op([&](auto handler) { http::async_write(*stream_, req, std::move(handler)); });
    if (ec) return fail(answer, "write: " + ec.message());
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    ec = run_op(
        [&](auto handler) { http::async_read(*stream_, buffer_, parser, std::move(handler)); });
    if (ec) return fail(answer, "read: " + ec.message());
    answer.status = parser.get().result_int();
    answer.body = std::move(parser.get().body());
    answer.micros = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    last_used_ = Clock::now();
    if (fresh || !parser.get().keep_alive()) stream_.reset();
    return answer;
  }

 private:
  using Stream = beast::ssl_stream<beast::tcp_stream>;
  // Well under condenserd's default keep-alive idle timeout (60 s).
  static constexpr auto kIdleReconnect = std::chrono::seconds(20);

  template <class Start>
  beast::error_code run_op(Start&& start) {
    beast::error_code result = asio::error::would_block;
    beast::get_lowest_layer(*stream_).expires_after(timeout_);
    start([&](beast::error_code ec, auto&&...) { result = ec; });
    // Until this operation completes (not until the stream's timer would have expired).
    io_.restart();
    while (result == asio::error::would_block && io_.run_one() > 0) {
    }
    return result;
  }

  std::string connect() {
    stream_.emplace(io_, ctx_);
    buffer_.clear();
    const auto colon = endpoint_.rfind(':');
    asio::ip::tcp::endpoint ep(asio::ip::make_address(endpoint_.substr(0, colon)),
                               static_cast<unsigned short>(std::stoi(endpoint_.substr(colon + 1))));
    beast::error_code ec = run_op([&](auto handler) {
      beast::get_lowest_layer(*stream_).async_connect(ep, std::move(handler));
    });
    if (ec) return "connect: " + ec.message();
    ec = run_op([&](auto handler) {
      stream_->async_handshake(ssl::stream_base::client, std::move(handler));
    });
    if (ec) return "handshake: " + ec.message();
    return {};
  }

  Answer& fail(Answer& answer, std::string error) {
    answer.error = std::move(error);
    stream_.reset();
    return answer;
  }

  std::string endpoint_;
  asio::io_context io_;
  ssl::context ctx_;
  std::chrono::seconds timeout_;
  std::optional<Stream> stream_;
  beast::flat_buffer buffer_;
  Clock::time_point last_used_{};
};

// "POST /v1/x → 500: body" for failure messages.
inline std::string describe(const std::string& what, const Answer& a) {
  return fmt::format("{} → {} {}", what, a.status, a.status ? a.body.substr(0, 300) : a.error);
}

// Latency summary of one kind of request, in milliseconds.
struct Latency {
  std::size_t count = 0;
  double p50 = 0, p99 = 0, max = 0;
};

inline Latency summarize(std::vector<double> micros) {
  Latency out;
  if (micros.empty()) return out;
  std::sort(micros.begin(), micros.end());
  auto at = [&](double p) {
    return micros[std::min(micros.size() - 1, static_cast<std::size_t>(p * micros.size()))];
  };
  out.count = micros.size();
  out.p50 = at(0.50) / 1000;
  out.p99 = at(0.99) / 1000;
  out.max = micros.back() / 1000;
  return out;
}

// What the kernel says about a process.
struct ProcessSample {
  long rss_kib = -1;
  long threads = -1;
  long fds = -1;
};

inline ProcessSample sample_process(pid_t pid) {
  ProcessSample s;
  const std::filesystem::path proc = "/proc/" + std::to_string(pid);
  std::ifstream status(proc / "status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::atol(line.c_str() + 6);
    if (line.rfind("Threads:", 0) == 0) s.threads = std::atol(line.c_str() + 8);
  }
  std::error_code ec;
  long fds = 0;
  for (auto it = std::filesystem::directory_iterator(proc / "fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++fds;
  if (!ec) s.fds = fds;
  return s;
}

// The first child of `parent` whose command name is `comm` (e.g. condenserd's ulogd), or -1.
inline pid_t child_named(pid_t parent, const std::string& comm) {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    // pid (comm) state ppid …; comm may hold spaces, so split at the last ')'.
    const auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && stat.substr(open + 1, close - open - 1) == comm)
      return static_cast<pid_t>(std::stol(name));
  }
  return -1;
}

// Every path under `dir`, relative to it (directories end in '/').
inline std::set<std::string> tree(const std::filesystem::path& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::string rel = std::filesystem::relative(it->path(), dir, ec).string();
    if (it->is_directory(ec)) rel += "/";
    out.insert(rel);
  }
  return out;
}

// The last octet of an IPv4 address ("10.166.0.7" → 7), or -1.
inline int last_octet(const std::string& ip) {
  const auto dot = ip.rfind('.');
  return dot == std::string::npos || dot + 1 == ip.size() ? -1 : std::atoi(ip.c_str() + dot + 1);
}

// GET /v1/system/info's counts.certificates (the store's certificate rows), or -1.
inline long certificate_count(ApiClient& api) {
  auto info = api.request("GET", "/v1/system/info");
  return info.data().value("counts", nlohmann::json::object()).value("certificates", -1L);
}

inline long env_long(const char* name, long fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atol(v) : fallback;
}

}  // namespace raind::testing::load

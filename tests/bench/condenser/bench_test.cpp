// GET /v1/system/info over mTLS with keep-alive: requests/s and p50/p99 latency for N requests
// over C connections (env RAIND_BENCH_REQUESTS, RAIND_BENCH_CONNECTIONS), plus condenserd's
// idle RSS. Prints the figures; asserts only that every request succeeded.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <fstream>

#include "harness.hpp"

using namespace raind::testing;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

long rss_kib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

// One keep-alive connection issuing `count` requests; appends latencies (µs).
int worker(const std::string& endpoint, const Identity& id, const std::string& ca, int count,
           std::vector<double>& latencies) {
  asio::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_3_VERSION);
  ctx.add_certificate_authority(asio::buffer(ca));
  ctx.use_certificate_chain(asio::buffer(id.cert_pem));
  ctx.use_private_key(asio::buffer(id.key_pem), ssl::context::pem);
  ctx.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
  auto colon = endpoint.rfind(':');
  asio::ip::tcp::resolver resolver(io);
  beast::get_lowest_layer(stream).connect(
      resolver.resolve(endpoint.substr(0, colon), endpoint.substr(colon + 1)));
  stream.handshake(ssl::stream_base::client);
  int errors = 0;
  http::request<http::empty_body> req{http::verb::get, "/v1/system/info", 11};
  req.set(http::field::host, endpoint);
  req.keep_alive(true);
  beast::flat_buffer buffer;
  for (int i = 0; i < count; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    http::write(stream, req);
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    latencies.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    if (res.result_int() != 200) ++errors;
  }
  return errors;
}

}  // namespace

TEST(CondenserBench, SystemInfoOverMtlsKeepAlive) {
  const int requests = env_int("RAIND_BENCH_REQUESTS", 5000);
  const int connections = env_int("RAIND_BENCH_CONNECTIONS", 4);
  TempDir dir("bench");
  Daemon daemon(dir.path(), "log_level: warn\n");
  ASSERT_TRUE(daemon.start()) << daemon.output();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const long idle_rss = rss_kib(daemon.pid());

  const auto cli = daemon.cli_identity();
  const auto ca = daemon.ca_pem();
  std::vector<std::vector<double>> per(connections);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  const auto t0 = std::chrono::steady_clock::now();
  for (int c = 0; c < connections; ++c)
    threads.emplace_back([&, c] {
      try {
        errors += worker(daemon.management(), cli, ca, requests / connections, per[c]);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "connection " << c << ": " << e.what();
        errors += 1;
      }
    });
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> all;
  for (auto& v : per) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  ASSERT_FALSE(all.empty());
  auto pct = [&](double p) { return all[std::min(all.size() - 1, std::size_t(p * all.size()))]; };
  const long busy_rss = rss_kib(daemon.pid());
  std::printf(
      "condenserd GET /v1/system/info, mTLS TLS1.3 keep-alive: %zu requests over %d connections "
      "in %.2f s\n  throughput: %.0f req/s\n  latency: p50 %.0f us, p99 %.0f us, max %.0f us\n"
      "  condenserd RSS: idle %ld KiB, after load %ld KiB\n",
      all.size(), connections, seconds, all.size() / seconds, pct(0.50), pct(0.99), all.back(),
      idle_rss, busy_rss);
  std::fflush(stdout);
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(daemon.terminate(), 0);
}

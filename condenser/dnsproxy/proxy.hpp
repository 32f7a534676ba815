#pragma once
// condenserd's DNS proxy: every container's port-53 traffic arrives here (nat RAIND-DNS). UDP
// and TCP; a bottle's service names answered locally; an LRU cache honouring TTLs, negative
// answers included; upstreams asked in order (the next on a timeout or error), a truncated UDP
// answer asked again over TCP; FORMERR for what is not one question, SERVFAIL when no upstream
// answered. One log record per query (raind_dns.jsonl), failures once.
//
// Runs on the daemon's io_context. Queries answered from the cache or locally are answered
// inline; the others get a coroutine and a socket of their own (the kernel picks a random source
// port for each).
#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "condenser/identity/identity.hpp"
#include "raind/error.hpp"
#include "raind/jsonl_writer.hpp"

namespace raind::condenser::dnsproxy {

struct Upstream {
  std::string address;  // IPv4
  std::uint16_t port = 53;
  std::string str() const { return address + ":" + std::to_string(port); }
};
// "ip" or "ip:port".
Result<Upstream> parse_upstream(std::string_view text);
// The nameserver lines of a resolv.conf (IPv4 only), in order.
std::vector<std::string> nameservers_from_resolv_conf(std::string_view text);

struct ProxyOptions {
  std::string address = "10.166.254.254";
  std::uint16_t port = 53;  // 0: any (tests)
  std::vector<Upstream> upstreams;
  std::chrono::milliseconds timeout{1500};  // per upstream try
  std::size_t cache_size = 10000;
  std::size_t max_tcp_connections = 256;
  std::chrono::milliseconds tcp_idle{10000};
  JsonlWriter* log = nullptr;                      // none: no query log
  const identity::Directory* directory = nullptr;  // client identity and bottle names
};

struct ProxyCounters {
  std::uint64_t queries = 0;
  std::uint64_t cache_hits = 0;
  std::uint64_t local_answers = 0;  // a bottle's service names
  std::uint64_t forwarded = 0;
  std::uint64_t failures = 0;   // answered SERVFAIL: no upstream answered
  std::uint64_t malformed = 0;  // answered FORMERR
  std::uint64_t dropped = 0;    // not even a DNS header
  std::uint64_t tc_retries = 0;
  std::uint64_t tcp_connections = 0;
};

class DnsProxy {
 public:
  static Result<std::unique_ptr<DnsProxy>> start(boost::asio::any_io_executor executor,
                                                 ProxyOptions options);
  ~DnsProxy();
  DnsProxy(const DnsProxy&) = delete;
  DnsProxy& operator=(const DnsProxy&) = delete;

  // Closes the listeners; queries in flight finish on their own. Idempotent.
  void stop();
  ProxyCounters counters() const;
  // Writes the query records batched so far (they go out every 100 ms or 64 KiB otherwise).
  void flush_log();
  std::uint16_t udp_port() const;
  std::uint16_t tcp_port() const;

  struct State;

 private:
  explicit DnsProxy(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace raind::condenser::dnsproxy

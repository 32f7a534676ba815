#include "condenser/dnsproxy/proxy.hpp"

#include <array>
#include <charconv>
#include <memory>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "condenser/dnsproxy/cache.hpp"
#include "condenser/dnsproxy/message.hpp"
#include "condenser/dnsproxy/query_log.hpp"
#include "condenser/system/deadline.hpp"
#include "raind/log.hpp"

namespace raind::condenser::dnsproxy {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint32_t kServiceNameTtl = 5;  // containers come and go: keep it short
constexpr std::size_t kMaxMessage = 65535;
constexpr std::size_t kLogBatch = 64 * 1024;
constexpr std::chrono::milliseconds kLogFlush{100};

std::shared_ptr<spdlog::logger> log() {
  return logger("condenser.dns");
}

struct Client {
  std::string ip;
  std::uint16_t port = 0;
  std::string transport;  // udp | tcp
};

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

}  // namespace

struct DnsProxy::State : std::enable_shared_from_this<State> {
  asio::any_io_executor executor;
  ProxyOptions options;
  udp::socket udp_socket;
  tcp::acceptor acceptor;
  AnswerCache cache;
  ProxyCounters counters;
  std::size_t tcp_open = 0;
  bool stopped = false;
  bool warned_malformed = false;
  std::string log_buffer;
  std::uint64_t log_pending = 0;
  asio::steady_timer flush_timer;
  bool flush_armed = false;

  State(asio::any_io_executor ex, ProxyOptions o)
      : executor(ex),
        options(std::move(o)),
        udp_socket(ex),
        acceptor(ex),
        cache(options.cache_size),
        flush_timer(ex) {}
  ~State() { flush_log(); }

  // Records are batched: one write() per 64 KiB or per kLogFlush, whichever comes first (a
  // write per query would cost more than answering it from the cache).
  void write_log(const QueryOutcome& outcome) {
    if (!options.log) return;
    static const identity::Snapshot kEmpty;
    auto snapshot = options.directory ? options.directory->current() : nullptr;
    append_query_record(log_buffer, outcome, snapshot ? *snapshot : kEmpty,
                        std::chrono::system_clock::now());
    log_buffer += '\n';
    ++log_pending;
    if (log_buffer.size() >= kLogBatch) {
      flush_log();
    } else if (!flush_armed) {
      flush_armed = true;
      flush_timer.expires_after(kLogFlush);
      flush_timer.async_wait([self = shared_from_this()](boost::system::error_code) {
        self->flush_armed = false;
        self->flush_log();
      });
    }
  }
  void flush_log() {
    if (log_buffer.empty() || !options.log) return;
    (void)options.log->write_lines(log_buffer, log_pending);
    log_buffer.clear();
    log_pending = 0;
  }

  // What can be answered without an upstream: FORMERR, a bottle's service name, the cache.
  // Returns the reply, or nothing with `question` set when the query must be forwarded, or
  // nothing at all when the packet is dropped.
  std::optional<Wire> answer_here(std::span<const std::uint8_t> query, const Client& client,
                                  std::optional<Question>& question) {
    ++counters.queries;
    QueryOutcome outcome{client.ip, client.port, client.transport};
    auto parsed = parse_query(query);
    if (!parsed) {
      if (parsed.error() == QueryProblem::too_short) {
        ++counters.dropped;
        return std::nullopt;
      }
      ++counters.malformed;
      if (!warned_malformed) {
        log()->warn("DNS: a query from {} was refused (FORMERR): {}; later ones are counted",
                    client.ip, problem_text(parsed.error()));
        warned_malformed = true;
      }
      Wire reply = error_reply(query, 1);
      outcome.answer = AnswerSummary{};
      outcome.answer->rcode = "FORMERR";
      outcome.answer->rcode_code = 1;
      outcome.upstream_server = outcome.upstream_transport = "local";
      outcome.ok = false;
      outcome.note = std::string(problem_text(parsed.error()));
      write_log(outcome);
      return reply;
    }
    outcome.question = *parsed;
    // A bottle's service names, for its own containers only (never cached: per client).
    // Other types for such a name get an empty answer (NODATA): a resolver asking A and AAAA
    // together must not see the AAAA fail upstream.
    if (parsed->class_code == 1 && options.directory) {
      auto snapshot = options.directory->current();
      if (auto ip = identity::resolve_bottle_service(*snapshot, client.ip, parsed->name)) {
        auto reply = parsed->type_code == 1 ? a_record_reply(query, *parsed, *ip, kServiceNameTtl)
                                            : Result<Wire>(error_reply(query, 0));
        if (reply) {
          ++counters.local_answers;
          unsigned answers = parsed->type_code == 1 ? 1 : 0;
          outcome.answer = AnswerSummary{parsed->id, "NOERROR", 0, answers, 0, 0, false, {}};
          outcome.upstream_server = outcome.upstream_transport = "local";
          outcome.note = "bottle service name";
          write_log(outcome);
          return std::move(*reply);
        }
      }
    }
    auto hit = cache.find(parsed->cache_key(), Clock::now());
    if (hit) {
      Wire reply = *hit->wire;
      if (refresh_in_place(reply, parsed->id, hit->age_seconds)) {
        ++counters.cache_hits;
        outcome.answer = *hit->summary;
        outcome.answer->id = parsed->id;
        outcome.upstream_server = outcome.upstream_transport = "cache";
        outcome.cache_hit = true;
        outcome.note = "hit=true";
        write_log(outcome);
        return reply;
      }
    }
    question = std::move(*parsed);
    return std::nullopt;
  }
};

namespace {

// One UDP exchange with an upstream: a fresh connected socket, answers with another id ignored.
awaitable<Result<Wire>> exchange_udp(asio::any_io_executor ex, Upstream upstream, Wire query,
                                     std::uint16_t id, std::chrono::milliseconds limit) {
  boost::system::error_code ec;
  udp::socket socket(ex);
  auto address = asio::ip::make_address_v4(upstream.address, ec);
  if (ec) co_return failf(Errc::invalid_argument, "upstream {}: bad address", upstream.str());
  socket.open(udp::v4(), ec);
  if (!ec) socket.connect(udp::endpoint(address, upstream.port), ec);
  if (ec) co_return failf(Errc::unavailable, "{}: {}", upstream.str(), ec.message());
  co_await socket.async_send(asio::buffer(query), asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return failf(Errc::unavailable, "{}: send: {}", upstream.str(), ec.message());
  // When it passes first, the pending operation ends with operation_aborted.
  system::Deadline deadline(ex);
  deadline.arm(limit, [&socket] { socket.cancel(); });
  Wire buffer(kMaxMessage);
  for (;;) {
    std::size_t n = co_await socket.async_receive(asio::buffer(buffer),
                                                  asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted)
      co_return failf(Errc::timeout, "{}: no answer within {} ms", upstream.str(), limit.count());
    if (ec) co_return failf(Errc::unavailable, "{}: {}", upstream.str(), ec.message());
    if (n >= 2 && ((buffer[0] << 8) | buffer[1]) == id) {
      deadline.disarm();
      buffer.resize(n);
      co_return buffer;
    }
  }
}

// One TCP exchange (RFC 7766 framing) with an upstream.
awaitable<Result<Wire>> exchange_tcp(asio::any_io_executor ex, Upstream upstream, Wire query,
                                     std::chrono::milliseconds limit) {
  boost::system::error_code ec;
  tcp::socket socket(ex);
  auto address = asio::ip::make_address_v4(upstream.address, ec);
  if (ec) co_return failf(Errc::invalid_argument, "upstream {}: bad address", upstream.str());
  // When it passes first, the pending operation ends with operation_aborted.
  system::Deadline deadline(ex);
  deadline.arm(limit, [&socket] { socket.cancel(); });
  co_await socket.async_connect(tcp::endpoint(address, upstream.port),
                                asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return failf(Errc::unavailable, "{} (tcp): connect: {}", upstream.str(), ec.message());
  std::array<std::uint8_t, 2> length{static_cast<std::uint8_t>(query.size() >> 8),
                                     static_cast<std::uint8_t>(query.size() & 0xff)};
  std::array<asio::const_buffer, 2> out{asio::buffer(length), asio::buffer(query)};
  co_await asio::async_write(socket, out, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return failf(Errc::unavailable, "{} (tcp): send: {}", upstream.str(), ec.message());
  co_await asio::async_read(socket, asio::buffer(length),
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return failf(Errc::unavailable, "{} (tcp): {}", upstream.str(), ec.message());
  Wire answer((length[0] << 8) | length[1]);
  co_await asio::async_read(socket, asio::buffer(answer),
                            asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return failf(Errc::unavailable, "{} (tcp): {}", upstream.str(), ec.message());
  deadline.disarm();
  co_return answer;
}

// Asks the upstreams in order; caches and logs the answer; SERVFAIL (logged once) when none
// answered.
awaitable<Wire> forward(std::shared_ptr<DnsProxy::State> st, Wire query, Question question,
                        Client client) {
  ++st->counters.forwarded;
  QueryOutcome outcome{client.ip, client.port, client.transport, question};
  std::string errors;  // every upstream's failure, for the one failure record
  auto failed = [&errors](std::string what) {
    errors += (errors.empty() ? "" : "; ") + std::move(what);
  };
  const auto& upstreams = st->options.upstreams;
  for (std::size_t i = 0; i < upstreams.size(); ++i) {
    const Upstream upstream = upstreams[i];
    const auto started = Clock::now();
    const bool over_tcp = client.transport == "tcp";
    std::string transport = over_tcp ? "tcp" : "udp";
    // Named locals only around co_await: GCC 12 destroys some temporaries of a co_await
    // expression twice.
    auto executor = st->executor;
    const auto limit = st->options.timeout;
    const std::uint16_t id = question.id;
    Result<Wire> answer = fail(Errc::internal, "not asked");
    if (over_tcp) {
      answer = co_await exchange_tcp(executor, upstream, query, limit);
    } else {
      answer = co_await exchange_udp(executor, upstream, query, id, limit);
    }
    if (!answer) {
      failed(answer.error().what());
      continue;
    }
    auto summary = parse_answer(*answer, question);
    if (!summary) {
      failed(fmt::format("{}: {}", upstream.str(), summary.error().what()));
      continue;
    }
    if (summary->truncated && !over_tcp) {
      // Too big for UDP: the same upstream over TCP; a failed retry keeps the truncated answer
      // (the client can retry over TCP itself).
      ++st->counters.tc_retries;
      auto full = co_await exchange_tcp(executor, upstream, query, limit);
      if (full) {
        if (auto s = parse_answer(*full, question)) {
          answer = std::move(full);
          summary = std::move(s);
          transport = "udp,tc";
        }
      } else {
        outcome.note = "tcp retry failed: " + full.error().what();
      }
    }
    if (i > 0 && transport == "udp") transport = "udp,retry";
    if (summary->cache_ttl && !summary->truncated)
      st->cache.store(question.cache_key(), *answer, *summary->cache_ttl, Clock::now(), *summary);
    outcome.answer = *summary;
    outcome.upstream_server = upstream.str();
    outcome.upstream_transport = transport;
    outcome.latency_ms = ms_since(started);
    if (outcome.note.empty()) outcome.note = "hit=false";
    st->write_log(outcome);
    co_return std::move(*answer);
  }
  ++st->counters.failures;
  Wire reply = error_reply(query, 2);
  outcome.answer = AnswerSummary{question.id, "SERVFAIL", 2, 0, 0, 0, false, {}};
  outcome.upstream_server = outcome.upstream_transport = "local";
  outcome.ok = false;
  outcome.note =
      "no upstream answered: " + (errors.empty() ? std::string("none configured") : errors);
  st->write_log(outcome);
  co_return reply;
}

awaitable<void> answer_udp(std::shared_ptr<DnsProxy::State> st, Wire query, Question question,
                           Client client, udp::endpoint to) {
  Wire reply = co_await forward(st, query, question, client);
  if (st->stopped) co_return;
  boost::system::error_code ec;
  st->udp_socket.send_to(asio::buffer(reply), to, 0, ec);
}

awaitable<void> udp_loop(std::shared_ptr<DnsProxy::State> st) {
  Wire buffer(kMaxMessage);
  udp::endpoint from;
  for (;;) {
    boost::system::error_code ec;
    std::size_t n = co_await st->udp_socket.async_receive_from(
        asio::buffer(buffer), from, asio::redirect_error(asio::use_awaitable, ec));
    if (st->stopped) co_return;
    if (ec) continue;
    Client client{from.address().to_string(), from.port(), "udp"};
    std::optional<Question> question;
    std::span<const std::uint8_t> query(buffer.data(), n);
    if (auto reply = st->answer_here(query, client, question)) {
      st->udp_socket.send_to(asio::buffer(*reply), from, 0, ec);
      continue;
    }
    if (!question) continue;
    Wire copy(query.begin(), query.end());
    asio::co_spawn(st->executor,
                   answer_udp(st, std::move(copy), std::move(*question), std::move(client), from),
                   asio::detached);
  }
}

awaitable<void> tcp_session(std::shared_ptr<DnsProxy::State> st, tcp::socket socket) {
  ++st->tcp_open;
  boost::system::error_code ec;
  auto peer = socket.remote_endpoint(ec);
  Client client{ec ? std::string() : peer.address().to_string(),
                ec ? std::uint16_t{0} : peer.port(), "tcp"};
  system::Deadline idle(st->executor);
  while (!st->stopped) {
    std::array<std::uint8_t, 2> length{};
    idle.arm(st->options.tcp_idle, [&socket] { socket.cancel(); });
    co_await asio::async_read(socket, asio::buffer(length),
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
    Wire query((length[0] << 8) | length[1]);
    co_await asio::async_read(socket, asio::buffer(query),
                              asio::redirect_error(asio::use_awaitable, ec));
    idle.disarm();
    if (ec) break;
    std::optional<Question> question;
    std::optional<Wire> reply = st->answer_here(query, client, question);
    if (!reply && question) {
      Question asked = std::move(*question);
      Wire forwarded = co_await forward(st, query, asked, client);
      reply = std::move(forwarded);
    }
    if (!reply) break;  // not even a header: the stream is out of step
    std::array<std::uint8_t, 2> out_length{static_cast<std::uint8_t>(reply->size() >> 8),
                                           static_cast<std::uint8_t>(reply->size() & 0xff)};
    std::array<asio::const_buffer, 2> out{asio::buffer(out_length), asio::buffer(*reply)};
    co_await asio::async_write(socket, out, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) break;
  }
  --st->tcp_open;
}

awaitable<void> tcp_loop(std::shared_ptr<DnsProxy::State> st) {
  for (;;) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await st->acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (st->stopped) co_return;
    if (ec) continue;
    ++st->counters.tcp_connections;
    if (st->tcp_open >= st->options.max_tcp_connections) continue;  // closed on scope exit
    asio::co_spawn(st->executor, tcp_session(st, std::move(socket)), asio::detached);
  }
}

}  // namespace

Result<Upstream> parse_upstream(std::string_view text) {
  Upstream u;
  auto colon = text.find(':');
  u.address = std::string(text.substr(0, colon));
  boost::system::error_code ec;
  asio::ip::make_address_v4(u.address, ec);
  if (ec) return failf(Errc::invalid_argument, "DNS upstream '{}' is not an IPv4 address", text);
  if (colon != std::string_view::npos) {
    auto digits = text.substr(colon + 1);
    unsigned port = 0;
    auto [end, perr] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (perr != std::errc() || end != digits.data() + digits.size() || port == 0 || port > 65535)
      return failf(Errc::invalid_argument, "DNS upstream '{}' has an invalid port", text);
    u.port = static_cast<std::uint16_t>(port);
  }
  return u;
}

std::vector<std::string> nameservers_from_resolv_conf(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    if (!(words >> key >> value) || key != "nameserver") continue;
    boost::system::error_code ec;
    asio::ip::make_address_v4(value, ec);
    if (!ec) out.push_back(value);
  }
  return out;
}

Result<std::unique_ptr<DnsProxy>> DnsProxy::start(asio::any_io_executor executor,
                                                  ProxyOptions options) {
  boost::system::error_code ec;
  auto address = asio::ip::make_address_v4(options.address, ec);
  if (ec)
    return failf(Errc::invalid_argument, "DNS proxy address '{}' is not IPv4", options.address);
  auto st = std::make_shared<State>(executor, std::move(options));
  udp::endpoint udp_at(address, st->options.port);
  st->udp_socket.open(udp::v4(), ec);
  if (!ec) st->udp_socket.bind(udp_at, ec);
  if (ec)
    return failf(Errc::unavailable, "DNS proxy: bind udp {}: {}", options.address, ec.message());
  // TCP on the port UDP got (the same when it was given).
  tcp::endpoint tcp_at(address, st->udp_socket.local_endpoint().port());
  st->acceptor.open(tcp::v4(), ec);
  if (!ec) st->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) st->acceptor.bind(tcp_at, ec);
  if (!ec) st->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return failf(Errc::unavailable, "DNS proxy: listen tcp {}: {}", st->options.address,
                 ec.message());
  asio::co_spawn(executor, udp_loop(st), asio::detached);
  asio::co_spawn(executor, tcp_loop(st), asio::detached);
  return std::unique_ptr<DnsProxy>(new DnsProxy(std::move(st)));
}

DnsProxy::~DnsProxy() {
  stop();
}

void DnsProxy::stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  state_->flush_log();
  boost::system::error_code ignored;
  state_->udp_socket.close(ignored);
  state_->acceptor.close(ignored);
}

ProxyCounters DnsProxy::counters() const {
  return state_->counters;
}

std::uint16_t DnsProxy::udp_port() const {
  boost::system::error_code ec;
  auto e = state_->udp_socket.local_endpoint(ec);
  return ec ? 0 : e.port();
}

std::uint16_t DnsProxy::tcp_port() const {
  boost::system::error_code ec;
  auto e = state_->acceptor.local_endpoint(ec);
  return ec ? 0 : e.port();
}

void DnsProxy::flush_log() {
  state_->flush_log();
}

}  // namespace raind::condenser::dnsproxy

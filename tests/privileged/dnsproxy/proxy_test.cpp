#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <future>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "../../unit/dnsproxy/dns_wire.hpp"
#include "condenser/dnsproxy/proxy.hpp"
#include "raind/sys/temp_dir.hpp"

namespace raind::condenser::dnsproxy {
namespace {

namespace fs = std::filesystem;
using testing::query;

// A UDP or TCP exchange with the proxy; empty when nothing came back within 3 s.
Wire ask(std::uint16_t port, const Wire& q, bool tcp) {
  int fd = ::socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
  timeval tv{3, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  Wire out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
    if (tcp) {
      Wire framed = {static_cast<std::uint8_t>(q.size() >> 8), static_cast<std::uint8_t>(q.size())};
      framed.insert(framed.end(), q.begin(), q.end());
      if (::write(fd, framed.data(), framed.size()) == static_cast<ssize_t>(framed.size())) {
        std::uint8_t len[2];
        if (::recv(fd, len, 2, MSG_WAITALL) == 2) {
          out.resize((len[0] << 8) | len[1]);
          if (::recv(fd, out.data(), out.size(), MSG_WAITALL) != static_cast<ssize_t>(out.size()))
            out.clear();
        }
      }
    } else if (::send(fd, q.data(), q.size(), 0) == static_cast<ssize_t>(q.size())) {
      out.resize(65535);
      ssize_t n = ::recv(fd, out.data(), out.size(), 0);
      out.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    }
  }
  ::close(fd);
  return out;
}

class DnsProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || !std::getenv("RAIND_OUTSIDE_IP"))
      GTEST_SKIP() << "needs root and scripts/sandbox.sh (the outside namespace's dnsmasq)";
    auto dir = sys::TempDir::create("dnsproxy");
    ASSERT_TRUE(dir);
    dir_ = std::move(*dir);
    // An upstream whose answer to big.test does not fit 512 bytes: truncated over UDP.
    std::string big(200, 'x');
    std::vector<std::string> argv = {"dnsmasq",
                                     "--keep-in-foreground",
                                     "--user=root",
                                     "--no-resolv",
                                     "--no-hosts",
                                     "--bind-interfaces",
                                     "--listen-address=127.0.0.2",
                                     "--port=5353",
                                     "--pid-file=" + (dir_.path() / "big.pid").string()};
    for (char c : std::string("abcd"))
      argv.push_back("--txt-record=big.test," + std::string(1, c) + big);
    big_upstream_ = ::fork();
    if (big_upstream_ == 0) {
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp("dnsmasq", args.data());
      ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  void TearDown() override {
    if (runner_.joinable()) {
      boost::asio::post(io_, [this] { proxy_.reset(); });
      io_.stop();
      runner_.join();
    }
    proxy_.reset();
    if (big_upstream_ > 0) {
      ::kill(big_upstream_, SIGTERM);
      ::waitpid(big_upstream_, nullptr, 0);
    }
  }

  void start(std::vector<std::string> upstreams, std::size_t cache_size = 100) {
    auto log = JsonlWriter::open(dir_.path() / "dns.jsonl", {}, 0644);
    ASSERT_TRUE(log);
    log_ = std::move(*log);
    // 127.0.0.1 plays a container of the bottle "shop"; its sibling "db" is 10.166.1.3.
    directory_.publish(
        {{"c1", "shop-web", "spiffe://raind/container/c1", "rd_c1", "127.0.0.1", "", "shop"},
         {"c2", "shop-db", "", "rd_c2", "10.166.1.3", "", "shop"}},
        {});
    ProxyOptions o;
    o.address = "127.0.0.1";
    o.port = 0;
    for (const auto& u : upstreams) o.upstreams.push_back(*parse_upstream(u));
    o.timeout = std::chrono::milliseconds(500);
    o.cache_size = cache_size;
    o.log = log_.get();
    o.directory = &directory_;
    auto proxy = DnsProxy::start(io_.get_executor(), o);
    ASSERT_TRUE(proxy) << proxy.error().what();
    proxy_ = std::move(*proxy);
    port_ = proxy_->udp_port();
    ASSERT_EQ(proxy_->tcp_port(), port_);
    runner_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(io_);
      io_.run();
    });
  }

  ProxyCounters counters() {
    std::promise<ProxyCounters> p;
    boost::asio::post(io_, [&] { p.set_value(proxy_->counters()); });
    return p.get_future().get();
  }

  std::vector<nlohmann::json> records() {
    std::promise<void> flushed;
    boost::asio::post(io_, [&] {
      proxy_->flush_log();
      flushed.set_value();
    });
    flushed.get_future().get();
    std::vector<nlohmann::json> out;
    std::ifstream in(dir_.path() / "dns.jsonl");
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }

  AnswerSummary summary(const Wire& reply, const Wire& q) {
    auto s = parse_answer(reply, *parse_query(q));
    EXPECT_TRUE(s) << (s ? "" : s.error().what());
    return s ? *s : AnswerSummary{};
  }

  sys::TempDir dir_;
  pid_t big_upstream_ = -1;
  boost::asio::io_context io_;
  std::thread runner_;
  std::unique_ptr<JsonlWriter> log_;
  identity::Directory directory_;
  std::unique_ptr<DnsProxy> proxy_;
  std::uint16_t port_ = 0;
};

TEST_F(DnsProxyTest, AnswersCachesAndLogsEveryQuery) {
  start({"198.51.100.2"});
  auto q = query("svc1.raind.test.");
  auto first = ask(port_, q, false);
  ASSERT_FALSE(first.empty());
  auto s = summary(first, q);
  EXPECT_EQ(s.rcode, "NOERROR");
  EXPECT_EQ(s.answers, 1u);
  auto second = ask(port_, query("SVC1.raind.test.", LDNS_RR_TYPE_A, false, 77), false);
  ASSERT_FALSE(second.empty());
  EXPECT_EQ((second[0] << 8) | second[1], 77) << "the client's id";
  auto nx = ask(port_, query("nosuch.raind.test."), false);
  EXPECT_EQ(summary(nx, query("nosuch.raind.test.")).rcode, "NXDOMAIN");
  // TCP between client and proxy (and proxy and upstream).
  auto over_tcp = ask(port_, query("svc2.raind.test."), true);
  EXPECT_EQ(summary(over_tcp, query("svc2.raind.test.")).answers, 1u);
  auto c = counters();
  EXPECT_EQ(c.queries, 4u);
  EXPECT_EQ(c.cache_hits, 1u);
  EXPECT_EQ(c.forwarded, 3u);
  auto r = records();
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0]["src"]["container_name"], "shop-web");
  EXPECT_EQ(r[0]["upstream"]["server"], "198.51.100.2:53");
  EXPECT_EQ(r[0]["upstream"]["transport"], "udp");
  EXPECT_TRUE(r[0]["latency_ms"].is_number());
  EXPECT_FALSE(r[0]["cache"]["hit"].get<bool>());
  EXPECT_EQ(r[1]["upstream"]["server"], "cache");
  EXPECT_TRUE(r[1]["cache"]["hit"].get<bool>());
  EXPECT_EQ(r[1]["dns"]["id"], 77);
  EXPECT_EQ(r[2]["dns"]["response"]["rcode"], "NXDOMAIN");
  EXPECT_EQ(r[3]["network"]["transport"], "tcp");
}

TEST_F(DnsProxyTest, TruncatedAnswersAreFetchedOverTcp) {
  start({"127.0.0.2:5353"});
  auto q = query("big.test.", LDNS_RR_TYPE_TXT);  // no EDNS: 512 bytes over UDP
  auto reply = ask(port_, q, false);
  ASSERT_FALSE(reply.empty());
  auto s = summary(reply, q);
  EXPECT_FALSE(s.truncated);
  EXPECT_EQ(s.answers, 4u);
  EXPECT_GT(reply.size(), 512u);
  EXPECT_EQ(counters().tc_retries, 1u);
  auto r = records();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["upstream"]["transport"], "udp,tc");
}

TEST_F(DnsProxyTest, AnUpstreamThatIsDownIsSkippedAndNoneAnsweringIsOneServfail) {
  start({"127.0.0.3:5353", "198.51.100.2"});  // nothing listens on the first
  auto q = query("svc3.raind.test.");
  EXPECT_EQ(summary(ask(port_, q, false), q).answers, 1u);
  auto r = records();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0]["upstream"]["server"], "198.51.100.2:53");
  EXPECT_EQ(r[0]["upstream"]["transport"], "udp,retry");
}

TEST_F(DnsProxyTest, NoUpstreamAnsweringGivesServfailLoggedOnce) {
  // One refuses (nothing listens), one never answers (a socket that reads and stays silent).
  int silent = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(5353);
  ::inet_pton(AF_INET, "127.0.0.4", &sa.sin_addr);
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  start({"127.0.0.3:5353", "127.0.0.4:5353"});
  auto q = query("svc4.raind.test.");
  auto reply = ask(port_, q, false);
  ASSERT_FALSE(reply.empty());
  EXPECT_EQ(summary(reply, q).rcode, "SERVFAIL");
  EXPECT_EQ(counters().failures, 1u);
  auto r = records();
  ASSERT_EQ(r.size(), 1u) << "one record per failed query";
  EXPECT_EQ(r[0]["query_result"], "fail");
  const std::string note = r[0]["note"].get<std::string>();
  EXPECT_NE(note.find("127.0.0.3:5353"), std::string::npos) << note;
  EXPECT_NE(note.find("127.0.0.4:5353: no answer within 500 ms"), std::string::npos) << note;
  ::close(silent);
}

TEST_F(DnsProxyTest, GarbageIsCountedAndServiceGoesOn) {
  start({"198.51.100.2"});
  Wire tiny = {1, 2, 3, 4, 5};
  EXPECT_TRUE(ask(port_, tiny, false).empty());  // not even a header: dropped
  Wire junk(64, 0xee);
  junk[2] = 0x01;
  auto formerr = ask(port_, junk, false);
  ASSERT_GE(formerr.size(), 12u);
  EXPECT_EQ(formerr[3] & 0x0f, 1) << "FORMERR";
  Wire two_questions = query("svc5.raind.test.");
  two_questions[5] = 2;  // QDCOUNT 2, one question present
  EXPECT_EQ(ask(port_, two_questions, false)[3] & 0x0f, 1);
  for (int i = 0; i < 200; ++i) {
    Wire random(13 + i % 50);
    for (auto& b : random) b = static_cast<std::uint8_t>(std::rand());
    random[2] &= 0x7f;
    (void)::getpid();
    int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port_);
    ::inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    ::sendto(fd, random.data(), random.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
    ::close(fd);
  }
  auto q = query("svc6.raind.test.");
  EXPECT_EQ(summary(ask(port_, q, false), q).answers, 1u) << "still serving";
  auto c = counters();
  EXPECT_EQ(c.dropped, 1u);
  EXPECT_GE(c.malformed, 2u);
}

TEST_F(DnsProxyTest, ABottlesServiceNamesAnswerOnlyItsOwnContainers) {
  start({"198.51.100.2"});
  for (const char* name : {"db.", "db.shop.", "DB.Shop."}) {
    auto q = query(name);
    auto reply = ask(port_, q, false);
    auto s = summary(reply, q);
    EXPECT_EQ(s.answers, 1u) << name;
    ldns_pkt* p = nullptr;
    ASSERT_EQ(ldns_wire2pkt(&p, reply.data(), reply.size()), LDNS_STATUS_OK);
    char* text = ldns_rdf2str(ldns_rr_rdf(ldns_rr_list_rr(ldns_pkt_answer(p), 0), 0));
    EXPECT_STREQ(text, "10.166.1.3");
    std::free(text);
    ldns_pkt_free(p);
  }
  // AAAA for a service name: an empty answer, not an upstream failure.
  auto aaaa = query("db.", LDNS_RR_TYPE_AAAA);
  auto s = summary(ask(port_, aaaa, false), aaaa);
  EXPECT_EQ(s.rcode, "NOERROR");
  EXPECT_EQ(s.answers, 0u);
  EXPECT_EQ(counters().local_answers, 4u);
  EXPECT_EQ(counters().forwarded, 0u);
}

}  // namespace
}  // namespace raind::condenser::dnsproxy

// Hostile and broken requests get the right 4xx, exactly one audit record each, and the daemon
// keeps serving.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "harness.hpp"

using namespace raind::testing;

class Limits : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("limits");
    daemon_ = std::make_unique<Daemon>(dir_->path(),
                                       "limits:\n  request_timeout_s: 2\n  body_bytes: 65536\n");
    ASSERT_TRUE(daemon_->start()) << daemon_->output();
    ca_ = daemon_->ca_pem();
    cli_ = daemon_->cli_identity();
  }
  Target mgmt() const { return {daemon_->management(), {}}; }

  // Sends raw bytes, expects one audit record; returns it.
  nlohmann::json send(const std::string& raw, Reply& reply,
                      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    const auto before = daemon_->audit().size();
    reply = exchange(mgmt(), cli_, ca_, raw, timeout);
    auto records = daemon_->wait_audit(before + 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    records = daemon_->audit();
    EXPECT_EQ(records.size(), before + 1);
    return records.empty() ? nlohmann::json() : records.back();
  }

  void expect_still_serving() {
    auto r = call(mgmt(), cli_, ca_, "GET", "/v1/system/info");
    ASSERT_TRUE(r.response) << r.error;
    EXPECT_EQ(r.status, 200u);
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Daemon> daemon_;
  std::string ca_;
  Identity cli_;
};

TEST_F(Limits, OversizedBodyByContentLengthIs413) {
  Reply r;
  auto rec = send("POST /v1/pki/rotate HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n{", r);
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(r.connection, "close");
  EXPECT_EQ(rec["action"], "pki.rotate");
  EXPECT_EQ(rec["result"]["code"], 413);
  EXPECT_EQ(rec["result"]["status"], "error");
  expect_still_serving();
}

TEST_F(Limits, OversizedChunkedBodyIs413) {
  std::string chunk(8000, 'a');
  std::string raw = "POST /v1/pki/rotate HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  raw += fmt::format("{:x}\r\n{}\r\n0\r\n\r\n", chunk.size(), chunk);
  Reply r;
  auto rec = send(raw, r);
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 413u);
  EXPECT_EQ(rec["result"]["code"], 413);
  expect_still_serving();
}

TEST_F(Limits, SlowlorisPartialRequestTimesOutWith408) {
  Reply r;
  const auto t0 = std::chrono::steady_clock::now();
  auto rec = send("GET /v1/system/info HTTP/1.1\r\nHost: x\r\nX-Slow: 1", r);
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(1500));
  EXPECT_LT(waited, std::chrono::seconds(8));
  if (r.response) {  // else: closed, which is also acceptable
    EXPECT_EQ(r.status, 408u);
  }
  EXPECT_EQ(rec["action"], "http.request_timeout");
  EXPECT_EQ(rec["result"]["code"], 408);
  EXPECT_EQ(rec["actor"]["spiffe_id"], "spiffe://raind/cli/admin");
  expect_still_serving();
}

TEST_F(Limits, SlowBodyTimesOutWith408) {
  Reply r;
  auto rec = send("POST /v1/pki/rotate HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{", r);
  if (r.response) {
    EXPECT_EQ(r.status, 408u);
  }
  EXPECT_EQ(rec["action"], "pki.rotate");
  EXPECT_EQ(rec["result"]["code"], 408);
  expect_still_serving();
}

TEST_F(Limits, MalformedJsonIs400) {
  Reply r;
  auto rec = send(http_request("POST", "/v1/pki/rotate", "{\"oops"), r);
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json()["status"], "fail");
  EXPECT_EQ(r.json()["message"], "invalid json: body is not valid json");
  EXPECT_EQ(rec["action"], "pki.rotate");
  EXPECT_EQ(rec["result"]["code"], 400);
  expect_still_serving();
}

TEST_F(Limits, UnknownFieldIs400NamingIt) {
  Reply r;
  auto rec = send(http_request("POST", "/v1/pki/rotate", R"({"force":true})"), r);
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(r.json()["message"], "invalid json: unknown field 'force'");
  EXPECT_EQ(rec["result"]["reason"], "invalid json: unknown field 'force'");
  expect_still_serving();
}

TEST_F(Limits, MalformedHttpIs400) {
  Reply r;
  auto rec = send("THIS IS NOT HTTP\r\n\r\n", r);
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(rec["action"], "http.bad_request");
  EXPECT_EQ(rec["result"]["code"], 400);
  expect_still_serving();
}

TEST_F(Limits, HugeHeaderIs431) {
  Reply r;
  auto rec = send(
      "GET /v1/system/info HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'b') + "\r\n\r\n",
      r);
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 431u);
  EXPECT_EQ(rec["result"]["code"], 431);
  expect_still_serving();
}

TEST_F(Limits, UnknownRouteAndMethodAreAuditedByName) {
  Reply r;
  auto rec = send(http_request("GET", "/v1/nothing/here"), r);
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(rec["action"], "http.not_found");
  rec = send(http_request("DELETE", "/v1/system/info"), r);
  EXPECT_EQ(r.status, 405u);
  EXPECT_EQ(rec["action"], "http.method_not_allowed");
  for (const auto& record : daemon_->audit()) EXPECT_NE(record["action"], "unknown");
}

TEST_F(Limits, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::string raw;
  for (int i = 0; i < 2; ++i) raw += "GET /v1/system/info HTTP/1.1\r\nHost: x\r\n\r\n";
  raw += "GET /v1/system/info HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const auto before = daemon_->audit().size();
  auto r = exchange(mgmt(), cli_, ca_, raw);
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 200u);
  auto records = daemon_->wait_audit(before + 3);
  EXPECT_EQ(records.size(), before + 3);
}

// Connections over limits.max_connections are closed at accept and audited as refusals.
TEST(ConnectionLimit, RefusalsAreAudited) {
  TempDir dir("connlimit");
  Daemon daemon(dir.path(), "limits:\n  max_connections: 2\n  idle_timeout_s: 30\n");
  ASSERT_TRUE(daemon.start()) << daemon.output();
  auto [host, port_text] = [&] {
    auto m = daemon.management();
    auto colon = m.rfind(':');
    return std::pair{m.substr(0, colon), m.substr(colon + 1)};
  }();
  auto open_tcp = [&] {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port_text)));
    ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
  };
  // Two idle connections (no TLS handshake yet) hold both slots.
  int held1 = open_tcp(), held2 = open_tcp();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto before = daemon.audit().size();
  int refused = open_tcp();
  // The daemon closes it: reading gives EOF (or a reset), never data.
  pollfd p{refused, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  char b;
  EXPECT_LE(::read(refused, &b, 1), 0);
  auto records = daemon.wait_audit(before + 1);
  ASSERT_GT(records.size(), before);
  bool found = false;
  for (const auto& r : records)
    if (r.value("action", "") == "connection.refused") found = true;
  EXPECT_TRUE(found) << "no connection.refused record";
  ::close(refused);
  ::close(held1);
  ::close(held2);
}

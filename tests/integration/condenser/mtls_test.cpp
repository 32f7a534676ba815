// The mTLS matrix: every way of knocking on each listener gets the right answer and exactly one
// audit record naming the right actor.
#include <gtest/gtest.h>

#include "harness.hpp"

using namespace raind::testing;

class Mtls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("mtls");
    daemon_ = std::make_unique<Daemon>(dir_->path());
    ASSERT_TRUE(daemon_->start()) << daemon_->output();
    ca_ = daemon_->ca_pem();
  }
  Target mgmt() const { return {daemon_->management(), {}}; }
  Target hooks() const { return {daemon_->hooks(), {}}; }
  Target hooks_socket() const { return {{}, daemon_->hooks_socket()}; }
  Target ca_api() const { return {daemon_->ca(), {}}; }

  // Sends one request and returns the single audit record it produced.
  nlohmann::json one_record(const Target& t, const Identity& id, const std::string& method,
                            const std::string& path, Reply& reply, const std::string& body = {}) {
    const auto before = daemon_->audit().size();
    reply = call(t, id, ca_, method, path, body);
    auto records = daemon_->wait_audit(before + 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    records = daemon_->audit();
    EXPECT_EQ(records.size(), before + 1) << "exactly one audit record per request";
    return records.empty() ? nlohmann::json() : records.back();
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Daemon> daemon_;
  std::string ca_;
};

TEST_F(Mtls, ValidCliCertIsServedAndAudited) {
  Reply r;
  auto cli = daemon_->cli_identity();
  auto rec = one_record(mgmt(), cli, "GET", "/v1/system/info", r);
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.json()["status"], "success");
  EXPECT_EQ(rec["action"], "system.info");
  EXPECT_EQ(rec["result"]["status"], "allow");
  EXPECT_EQ(rec["result"]["code"], 200);
  EXPECT_EQ(rec["actor"]["spiffe_id"], "spiffe://raind/cli/admin");
  EXPECT_EQ(rec["actor"]["certt_fingerprint"], cli.fingerprint);
  EXPECT_EQ(rec["actor"]["peer_ip"], "127.0.0.1");
  EXPECT_EQ(rec["runtime"]["component"], "condenserd");
  EXPECT_TRUE(rec["result"].contains("latence_ms"));
}

TEST_F(Mtls, NoClientCertIs401) {
  Reply r;
  auto rec = one_record(mgmt(), Identity{}, "GET", "/v1/system/info", r);
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 401u);
  EXPECT_EQ(r.json()["message"], "client certificate required");
  EXPECT_EQ(rec["action"], "system.info");
  EXPECT_EQ(rec["result"]["status"], "deny");
  EXPECT_EQ(rec["result"]["code"], 401);
  EXPECT_EQ(rec["actor"]["spiffe_id"], "");
  EXPECT_EQ(rec["actor"]["certt_fingerprint"], "");
}

TEST_F(Mtls, CertFromAnotherCaFailsTls) {
  Reply r;
  auto evil = foreign_identity({"spiffe://raind/cli/admin"});
  auto rec = one_record(mgmt(), evil, "GET", "/v1/system/info", r);
  EXPECT_FALSE(r.response) << "status " << r.status;
  EXPECT_FALSE(r.error.empty());
  EXPECT_EQ(rec["action"], "tls.handshake");
  EXPECT_EQ(rec["result"]["status"], "deny");
  EXPECT_EQ(rec["result"]["code"], 0);
  EXPECT_EQ(rec["actor"]["spiffe_id"], "spiffe://raind/cli/admin");
  EXPECT_EQ(rec["actor"]["certt_fingerprint"], evil.fingerprint);
}

TEST_F(Mtls, WrongSpiffeIdIs403) {
  Reply r;
  auto id = daemon_->mint({"spiffe://raind/clix/admin"});
  auto rec = one_record(mgmt(), id, "GET", "/v1/system/info", r);
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(rec["result"]["code"], 403);
  EXPECT_EQ(rec["result"]["status"], "deny");
  EXPECT_EQ(rec["actor"]["spiffe_id"], "spiffe://raind/clix/admin");
  EXPECT_EQ(rec["actor"]["certt_fingerprint"], id.fingerprint);

  auto other_td = daemon_->mint({"spiffe://example.org/cli/admin"});
  rec = one_record(mgmt(), other_td, "GET", "/v1/system/info", r);
  EXPECT_EQ(r.status, 403u);
  EXPECT_NE(r.json()["message"].get<std::string>().find("trust domain"), std::string::npos);
}

TEST_F(Mtls, CertWithoutUriSanIs403) {
  Reply r;
  auto id = daemon_->mint({});
  auto rec = one_record(mgmt(), id, "GET", "/v1/system/info", r);
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 403u);
  EXPECT_NE(r.json()["message"].get<std::string>().find("no URI SAN"), std::string::npos);
  EXPECT_EQ(rec["result"]["code"], 403);
  EXPECT_EQ(rec["actor"]["spiffe_id"], "");
  EXPECT_EQ(rec["actor"]["certt_fingerprint"], id.fingerprint);
}

TEST_F(Mtls, ContainerCertOnManagementIs403) {
  Reply r;
  auto id = daemon_->mint({"spiffe://raind/container/abc123"});
  auto rec = one_record(mgmt(), id, "GET", "/v1/pki/certs", r);
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(rec["action"], "pki.list");
  EXPECT_EQ(rec["result"]["code"], 403);
  EXPECT_EQ(rec["actor"]["spiffe_id"], "spiffe://raind/container/abc123");
}

TEST_F(Mtls, CliCertOnHookApiIs403OnTcpAndUnixSocket) {
  Reply r;
  auto cli = daemon_->cli_identity();
  auto rec = one_record(hooks(), cli, "POST", "/v1/hooks/droplet", r, R"({"id":"abc"})");
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(rec["action"], "hook.apply");
  EXPECT_EQ(rec["request"]["listener"], "hooks");
  EXPECT_EQ(rec["actor"]["spiffe_id"], "spiffe://raind/cli/admin");

  rec = one_record(hooks_socket(), cli, "POST", "/v1/hooks/droplet", r, R"({"id":"abc"})");
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(rec["actor"]["peer_ip"], "unix");
  EXPECT_EQ(rec["extra"]["peer_uid"], static_cast<long>(getuid()));
  EXPECT_EQ(rec["extra"]["peer_pid"], static_cast<long>(getpid()));
}

TEST_F(Mtls, CliAndContainerCertsOnCaApiAre403) {
  Reply r;
  auto rec = one_record(ca_api(), daemon_->cli_identity(), "POST", "/v1/pki/sign", r, "x");
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(rec["action"], "pki.sign");
  rec = one_record(ca_api(), daemon_->mint({"spiffe://raind/droplet/container"}), "POST",
                   "/v1/pki/sign", r, "x");
  EXPECT_EQ(r.status, 403u);
  rec = one_record(ca_api(), Identity{}, "POST", "/v1/pki/sign", r, "x");
  EXPECT_EQ(r.status, 401u);
}

TEST_F(Mtls, TwoUriSansAre403) {
  Reply r;
  auto id = daemon_->mint({"spiffe://raind/cli/admin", "spiffe://raind/cli/other"});
  auto rec = one_record(mgmt(), id, "GET", "/v1/system/info", r);
  EXPECT_EQ(r.status, 403u);
  EXPECT_EQ(rec["extra"]["uri_sans"].size(), 2u);
}

TEST_F(Mtls, OtherCliNamesAreAccepted) {
  Reply r;
  auto rec =
      one_record(mgmt(), daemon_->mint({"spiffe://raind/cli/ops"}), "GET", "/v1/system/info", r);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(rec["actor"]["spiffe_id"], "spiffe://raind/cli/ops");
}

TEST_F(Mtls, CorrelationIdIsServerGenerated) {
  Reply r;
  const auto before = daemon_->audit().size();
  r = call(mgmt(), daemon_->cli_identity(), ca_, "GET", "/v1/system/info", {},
           {"X-Request-Id: attacker-chosen"});
  auto records = daemon_->wait_audit(before + 1);
  ASSERT_EQ(records.size(), before + 1);
  EXPECT_NE(records.back()["correlation_id"], "attacker-chosen");
  EXPECT_EQ(records.back()["correlation_id"].get<std::string>().size(), 26u);
  EXPECT_EQ(records.back()["extra"]["client_request_id"], "attacker-chosen");
  EXPECT_NE(records.back()["event_id"], records.back()["correlation_id"]);
}

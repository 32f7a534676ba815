// The CA listener issues container certificates only for containers in `creating`, and the
// issued identity is what the hook API accepts, for that container only.
#include <gtest/gtest.h>
#include <openssl/x509v3.h>

#include "condenser/store/store.hpp"
#include "harness.hpp"

using namespace raind::testing;
namespace ossl = raind::condenser::ossl;
namespace store = raind::condenser::store;

namespace {

std::string make_csr(const std::string& sans, EVP_PKEY* key) {
  ossl::ReqPtr req(X509_REQ_new());
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("raind-client"), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), key);
  STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
  sk_X509_EXTENSION_push(exts,
                         X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, sans.c_str()));
  X509_REQ_add_extensions(req.get(), exts);
  sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  X509_REQ_sign(req.get(), key, EVP_sha256());
  return *ossl::csr_pem(req.get());
}

}  // namespace

class CaHooks : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("ca");
    daemon_ = std::make_unique<Daemon>(dir_->path());
    ASSERT_TRUE(daemon_->start()) << daemon_->output();
    ca_ = daemon_->ca_pem();
    // The container table is filled by the container service in a later issue; here the test
    // writes the rows itself, through the same store code, while the daemon runs (WAL).
    auto s = store::Store::open(daemon_->db_path());
    ASSERT_TRUE(s) << s.error().what();
    ASSERT_TRUE((*s)->insert_container({"c0ffee01",
                                        "web",
                                        "creating",
                                        0,
                                        "busybox",
                                        {},
                                        R"({"id":"c0ffee01","name":"web"})",
                                        ""}));
    ASSERT_TRUE((*s)->insert_container(
        {"c0ffee02", "db", "running", 1, "busybox", {}, R"({"id":"c0ffee02","name":"db"})", ""}));
  }

  Reply sign(const std::string& csr, const Identity& id) {
    return call({daemon_->ca(), {}}, id, ca_, "POST", "/v1/pki/sign", csr,
                {"Content-Type: application/pem-certificate-chain"});
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Daemon> daemon_;
  std::string ca_;
};

TEST_F(CaHooks, SignsCsrForCreatingContainerAndHookAcceptsIt) {
  auto key = ossl::generate_ec_key();
  auto r =
      sign(make_csr("URI:spiffe://raind/container/c0ffee01", key->get()), daemon_->hook_identity());
  ASSERT_TRUE(r.response) << r.error;
  ASSERT_EQ(r.status, 200u) << r.body;
  auto cert = ossl::read_cert_pem(r.body);
  ASSERT_TRUE(cert);
  EXPECT_EQ(ossl::cert_uri_sans(cert->get()),
            std::vector<std::string>{"spiffe://raind/container/c0ffee01"});
  auto ca_cert = ossl::read_cert_pem(ca_);
  ossl::PkeyPtr ca_pub(X509_get_pubkey(ca_cert->get()));
  EXPECT_EQ(X509_verify(cert->get(), ca_pub.get()), 1);
  EXPECT_TRUE(X509_get_extended_key_usage(cert->get()) & XKU_SSL_CLIENT);
  EXPECT_EQ(X509_check_ca(cert->get()), 0);

  auto records = daemon_->wait_audit(1);
  auto sign_rec = records.back();
  EXPECT_EQ(sign_rec["action"], "pki.sign");
  EXPECT_EQ(sign_rec["target"]["container_id"], "c0ffee01");
  EXPECT_EQ(sign_rec["actor"]["spiffe_id"], "spiffe://raind/droplet/hook");
  EXPECT_EQ(sign_rec["severity"], "high");

  Identity container{r.body, *ossl::private_key_pem(key->get()),
                     ossl::cert_fingerprint(cert->get())};
  const std::string state = R"({"ociVersion":"1.0.2","id":"c0ffee01","status":"creating","pid":0})";
  for (const Target& t : {Target{daemon_->hooks(), {}}, Target{{}, daemon_->hooks_socket()}}) {
    const auto before = daemon_->audit().size();
    auto ok = call(t, container, ca_, "POST", "/v1/hooks/droplet", state,
                   {"X-Hook-Event: createRuntime"});
    ASSERT_TRUE(ok.response) << ok.error;
    EXPECT_EQ(ok.status, 200u) << ok.body;
    auto rec = daemon_->wait_audit(before + 1).back();
    EXPECT_EQ(rec["action"], "hook.createRuntime");
    EXPECT_EQ(rec["target"]["container_id"], "c0ffee01");
    EXPECT_EQ(rec["actor"]["certt_fingerprint"], container.fingerprint);
  }
  // Another container's id in the body: refused.
  auto other = call({daemon_->hooks(), {}}, container, ca_, "POST", "/v1/hooks/droplet",
                    R"({"id":"c0ffee02"})", {"X-Hook-Event: poststart"});
  EXPECT_EQ(other.status, 403u);
  EXPECT_NE(other.json()["message"].get<std::string>().find("validate failed"), std::string::npos);
  auto no_event = call({daemon_->hooks(), {}}, container, ca_, "POST", "/v1/hooks/droplet", state);
  EXPECT_EQ(no_event.status, 400u);

  // The issued certificate is recorded and listed.
  auto ls = call({daemon_->management(), {}}, daemon_->cli_identity(), ca_, "GET", "/v1/pki/certs");
  ASSERT_EQ(ls.status, 200u);
  bool found = false;
  const auto listing = ls.json();
  for (const auto& c : listing["data"])
    if (c["kind"] == "container" && c["container_id"] == "c0ffee01") found = true;
  EXPECT_TRUE(found) << ls.body.substr(ls.body.size() > 900 ? ls.body.size() - 900 : 0);
}

TEST_F(CaHooks, RefusesCsrsThatBreakThePolicy) {
  auto key = ossl::generate_ec_key();
  auto hook = daemon_->hook_identity();
  auto r = sign(make_csr("URI:spiffe://raind/container/nosuch", key->get()), hook);
  EXPECT_EQ(r.status, 403u) << r.body;
  r = sign(make_csr("URI:spiffe://raind/container/c0ffee02", key->get()), hook);  // running
  EXPECT_EQ(r.status, 403u) << r.body;
  EXPECT_NE(r.json()["message"].get<std::string>().find("running"), std::string::npos);
  r = sign(make_csr("URI:spiffe://raind/cli/admin", key->get()), hook);
  EXPECT_EQ(r.status, 403u) << r.body;
  r = sign(
      make_csr("URI:spiffe://raind/container/c0ffee01,URI:spiffe://raind/container/x", key->get()),
      hook);
  EXPECT_EQ(r.status, 400u) << r.body;
  r = sign(make_csr("DNS:localhost", key->get()), hook);
  EXPECT_EQ(r.status, 400u) << r.body;
  r = sign("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n", hook);
  EXPECT_EQ(r.status, 400u) << r.body;
  auto records = daemon_->wait_audit(6);
  ASSERT_EQ(records.size(), 6u);
  for (const auto& rec : records) EXPECT_EQ(rec["action"], "pki.sign");
}

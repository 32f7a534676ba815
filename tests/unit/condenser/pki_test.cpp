#include <gtest/gtest.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>

#include "condenser/pki/pki.hpp"
#include "raind/sys/files.hpp"

using namespace raind::condenser;
namespace ossl = raind::condenser::ossl;

namespace {

// A CSR with the given SAN entries ("URI:...", "DNS:...").
std::string make_csr(const std::string& sans, EVP_PKEY* key) {
  ossl::ReqPtr req(X509_REQ_new());
  X509_REQ_set_version(req.get(), 0);
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("raind-client"), -1, -1, 0);
  X509_REQ_set_pubkey(req.get(), key);
  if (!sans.empty()) {
    STACK_OF(X509_EXTENSION)* exts = sk_X509_EXTENSION_new_null();
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, sans.c_str());
    sk_X509_EXTENSION_push(exts, ext);
    X509_REQ_add_extensions(req.get(), exts);
    sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
  }
  X509_REQ_sign(req.get(), key, EVP_sha256());
  return *ossl::csr_pem(req.get());
}

}  // namespace

TEST(Pki, ContainerCsrChecks) {
  auto key = ossl::generate_ec_key();
  ASSERT_TRUE(key);
  auto good = pki::parse_container_csr(make_csr("URI:spiffe://raind/container/abc-1", key->get()));
  ASSERT_TRUE(good) << good.error().what();
  EXPECT_EQ(good->container_id, "abc-1");

  struct Case {
    std::string sans;
    raind::Errc code;
  };
  for (const auto& c : std::vector<Case>{
           {"", raind::Errc::invalid_argument},
           {"DNS:localhost", raind::Errc::invalid_argument},
           {"URI:spiffe://raind/container/a,URI:spiffe://raind/container/b",
            raind::Errc::invalid_argument},
           {"URI:spiffe://raind/container/a,DNS:x", raind::Errc::invalid_argument},
           {"URI:spiffe://other/container/a", raind::Errc::invalid_argument},
           {"URI:spiffe://raind/container/A_B", raind::Errc::invalid_argument},
           {"URI:spiffe://raind/container/a/b", raind::Errc::invalid_argument},
           {"URI:spiffe://raind/cli/admin", raind::Errc::permission_denied},
           {"URI:https://raind/container/a", raind::Errc::invalid_argument},
       }) {
    auto r = pki::parse_container_csr(make_csr(c.sans, key->get()));
    ASSERT_FALSE(r) << c.sans;
    EXPECT_EQ(r.error().code(), c.code) << c.sans << ": " << r.error().what();
  }
  EXPECT_FALSE(pki::parse_container_csr("not a pem"));
}

TEST(Pki, TamperedCsrSignatureIsRejected) {
  auto key = ossl::generate_ec_key();
  auto other = ossl::generate_ec_key();
  std::string pem = make_csr("URI:spiffe://raind/container/abc", key->get());
  auto req = ossl::read_csr_pem(pem);
  ASSERT_TRUE(req);
  X509_REQ_set_pubkey(req->get(), other->get());  // signature no longer matches
  auto r = pki::parse_container_csr(*ossl::csr_pem(req->get()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message(), "csr signature is invalid");
}

TEST(Pki, EnsureCreatesMaterialWithModesAndIsIdempotent) {
  auto dir = std::filesystem::temp_directory_path() / ("raind-pki-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::vector<pki::CertRecord> generated;
  auto p = pki::Pki::ensure(dir, &generated);
  ASSERT_TRUE(p) << p.error().what();
  ASSERT_EQ(generated.size(), 4u);
  struct stat st {};
  ASSERT_EQ(stat(dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  for (const char* stem : {"ca", "server", "cli", "hook"}) {
    ASSERT_EQ(stat((dir / (std::string(stem) + ".key")).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << stem;
    ASSERT_EQ(stat((dir / (std::string(stem) + ".crt")).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0644u) << stem;
  }
  // CA: CA:TRUE, keyCertSign; leaves: the right EKU and SANs, chained to the CA.
  auto ca = ossl::read_cert_pem(*raind::sys::read_file(dir / "ca.crt"));
  ASSERT_TRUE(ca);
  EXPECT_EQ(X509_check_ca(ca->get()), 1);
  EXPECT_TRUE(X509_get_key_usage(ca->get()) & KU_KEY_CERT_SIGN);
  auto server = ossl::read_cert_pem(*raind::sys::read_file(dir / "server.crt"));
  EXPECT_EQ(X509_check_ca(server->get()), 0);
  EXPECT_EQ(X509_check_host(server->get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(server->get(), "127.0.0.1", 0), 1);
  EXPECT_TRUE(X509_get_extended_key_usage(server->get()) & XKU_SSL_SERVER);
  ossl::PkeyPtr ca_pub(X509_get_pubkey(ca->get()));
  EXPECT_EQ(X509_verify(server->get(), ca_pub.get()), 1);
  auto cli = ossl::read_cert_pem(*raind::sys::read_file(dir / "cli.crt"));
  EXPECT_EQ(ossl::cert_uri_sans(cli->get()), std::vector<std::string>{"spiffe://raind/cli/admin"});
  EXPECT_TRUE(X509_get_extended_key_usage(cli->get()) & XKU_SSL_CLIENT);
  auto hook = ossl::read_cert_pem(*raind::sys::read_file(dir / "hook.crt"));
  EXPECT_EQ(ossl::cert_uri_sans(hook->get()),
            std::vector<std::string>{"spiffe://raind/droplet/hook"});

  std::vector<pki::CertRecord> again;
  ASSERT_TRUE(pki::Pki::ensure(dir, &again));
  EXPECT_TRUE(again.empty());

  // A key that no longer matches its certificate (crash between the two writes) is repaired.
  auto stray = ossl::generate_ec_key();
  ASSERT_TRUE(raind::sys::write_file(dir / "cli.key", *ossl::private_key_pem(stray->get()), 0600));
  std::vector<pki::CertRecord> repaired;
  ASSERT_TRUE(pki::Pki::ensure(dir, &repaired));
  ASSERT_EQ(repaired.size(), 1u);
  EXPECT_EQ(repaired[0].kind, "cli");

  auto rotated = p->rotate();
  ASSERT_TRUE(rotated);
  EXPECT_EQ(rotated->size(), 3u);
  auto ca_after = ossl::read_cert_pem(*raind::sys::read_file(dir / "ca.crt"));
  EXPECT_EQ(ossl::cert_fingerprint(ca_after->get()), ossl::cert_fingerprint(ca->get()));
  std::filesystem::remove_all(dir);
}

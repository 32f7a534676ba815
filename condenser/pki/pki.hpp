#pragma once
// Raind's PKI: a real CA (not a CA-flagged server leaf), the server certificate, the CLI admin and
// hook-client certificates, and CSR signing for containers. Files in <pki_dir> (dir 0700):
//   ca.crt ca.key          CA (EC P-256, CA:TRUE critical, keyCertSign|cRLSign), 10 years
//   server.crt server.key  DNS:localhost IP:127.0.0.1, serverAuth, 1 year
//   cli.crt cli.key        URI spiffe://raind/cli/admin, clientAuth, 1 year
//   hook.crt hook.key      URI spiffe://raind/droplet/hook, clientAuth, 1 year
// Keys 0600, certs 0644, each written atomically (key first; a cert that does not match its key
// at start-up is regenerated, which also repairs a crash between the two writes).
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "condenser/pki/ossl.hpp"
#include "raind/error.hpp"

namespace raind::condenser::pki {

inline constexpr std::string_view kCliAdminId = "spiffe://raind/cli/admin";
inline constexpr std::string_view kHookClientId = "spiffe://raind/droplet/hook";

struct LeafSpec {
  std::string common_name;
  std::vector<std::string> dns;
  std::vector<std::string> ips;
  std::vector<std::string> uris;
  bool server = false;  // serverAuth, else clientAuth
  int days = 365;
};

// Summary of an issued certificate, as recorded in the store and shown by `raind pki ls`.
struct CertRecord {
  std::string serial;  // lower-case hex
  std::string kind;    // ca | server | cli | hook | container
  std::string subject_cn;
  std::string spiffe_id;  // first URI SAN or ""
  std::string container_id;
  std::string not_before;
  std::string not_after;
  std::string fingerprint;
  std::string pem;
};

CertRecord describe(X509* cert, std::string kind);

Result<ossl::X509Ptr> make_ca(EVP_PKEY* key, const std::string& common_name, int days);
Result<ossl::X509Ptr> issue(const LeafSpec& spec, EVP_PKEY* subject_key, X509* ca_cert,
                            EVP_PKEY* ca_key);

// A CSR that passed every check except the store lookup (which the caller does).
struct ContainerCsr {
  ossl::ReqPtr req;
  std::string container_id;
};
// Checks: pem parses, signature valid, exactly one SAN which is a URI
// spiffe://raind/container/<id> with id [a-z0-9-]+.
Result<ContainerCsr> parse_container_csr(std::string_view pem);

class Pki {
 public:
  // Loads or creates all material. `generated` receives the certs created now.
  static Result<Pki> ensure(const std::filesystem::path& dir, std::vector<CertRecord>* generated);

  // Regenerates server, CLI and hook certs (new keys) under the same CA.
  Result<std::vector<CertRecord>> rotate();
  Result<ossl::X509Ptr> sign_container(const ContainerCsr& csr, int days = 30) const;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path ca_cert_path() const { return dir_ / "ca.crt"; }
  std::filesystem::path server_cert_path() const { return dir_ / "server.crt"; }
  std::filesystem::path server_key_path() const { return dir_ / "server.key"; }
  X509* ca_cert() const { return ca_cert_.get(); }

 private:
  Pki() = default;
  Result<std::vector<CertRecord>> ensure_leaves(bool force);

  std::filesystem::path dir_;
  ossl::X509Ptr ca_cert_;
  ossl::PkeyPtr ca_key_;
};

}  // namespace raind::condenser::pki

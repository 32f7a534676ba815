#include "condenser/pki/pki.hpp"

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include "condenser/pki/spiffe.hpp"
#include "raind/atomic_file.hpp"
#include "raind/log.hpp"
#include "raind/sys/files.hpp"

namespace raind::condenser::pki {
namespace {

constexpr long kBackdateSeconds = 5 * 60;  // tolerate small clock skew between peers

Status set_random_serial(X509* cert) {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) return ossl::fail_ssl("random serial");
  bytes[0] &= 0x7f;  // positive
  bytes[0] |= 0x01;  // never zero, and a fixed 16-byte length
  BIGNUM* bn = BN_bin2bn(bytes, sizeof bytes, nullptr);
  ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
  BN_free(bn);
  if (!serial) return ossl::fail_ssl("encode serial");
  X509_set_serialNumber(cert, serial);
  ASN1_INTEGER_free(serial);
  return ok();
}

Status add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return ossl::fail_ssl(fmt::format("make extension {}={}", OBJ_nid2sn(nid), value));
  int rc = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (rc != 1) return ossl::fail_ssl("add extension");
  return ok();
}

Result<ossl::X509Ptr> new_cert(const std::string& cn, EVP_PKEY* key, int days) {
  ossl::X509Ptr cert(X509_new());
  if (!cert) return ossl::fail_ssl("allocate certificate");
  X509_set_version(cert.get(), 2);
  RAIND_TRY(set_random_serial(cert.get()));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("raind"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  if (X509_set_pubkey(cert.get(), key) != 1) return ossl::fail_ssl("set public key");
  return cert;
}

std::string join(const std::vector<std::string>& prefix_values) {
  std::string out;
  for (const auto& v : prefix_values) out += (out.empty() ? "" : ",") + v;
  return out;
}

struct LeafFile {
  const char* stem;
  const char* kind;
  LeafSpec spec;
};

std::vector<LeafFile> leaf_files() {
  return {
      {"server", "server", {"raind-server", {"localhost"}, {"127.0.0.1", "::1"}, {}, true, 365}},
      {"cli", "cli", {"raind-cli-admin", {}, {}, {std::string(kCliAdminId)}, false, 365}},
      {"hook", "hook", {"raind-hook-client", {}, {}, {std::string(kHookClientId)}, false, 365}},
  };
}

Result<std::string> read_text(const std::filesystem::path& path) {
  return sys::read_file(path);
}

// Loads cert + key when both exist, match, and (for leaves) chain to the CA and are not expired.
bool usable(const std::filesystem::path& cert_path, const std::filesystem::path& key_path,
            X509* ca) {
  auto cert_text = read_text(cert_path);
  auto key_text = read_text(key_path);
  if (!cert_text || !key_text) return false;
  auto cert = ossl::read_cert_pem(*cert_text);
  auto key = ossl::read_private_key_pem(*key_text);
  if (!cert || !key) return false;
  if (X509_check_private_key(cert->get(), key->get()) != 1) return false;
  if (X509_cmp_current_time(X509_get0_notAfter(cert->get())) <= 0) return false;
  if (ca) {
    ossl::PkeyPtr ca_pub(X509_get_pubkey(ca));
    if (X509_verify(cert->get(), ca_pub.get()) != 1) return false;
  }
  ERR_clear_error();
  return true;
}

Status write_pair(const std::filesystem::path& dir, const std::string& stem, X509* cert,
                  EVP_PKEY* key) {
  RAIND_TRY_ASSIGN(auto key_text, ossl::private_key_pem(key));
  RAIND_TRY_ASSIGN(auto cert_text, ossl::cert_pem(cert));
  RAIND_TRY(write_file_atomic(dir / (stem + ".key"), key_text, 0600));
  RAIND_TRY(write_file_atomic(dir / (stem + ".crt"), cert_text, 0644));
  return ok();
}

}  // namespace

CertRecord describe(X509* cert, std::string kind) {
  CertRecord r;
  r.serial = ossl::cert_serial_hex(cert);
  r.kind = std::move(kind);
  r.subject_cn = ossl::cert_common_name(cert);
  auto uris = ossl::cert_uri_sans(cert);
  if (!uris.empty()) r.spiffe_id = uris.front();
  r.not_before = ossl::asn1_time_rfc3339(X509_get0_notBefore(cert));
  r.not_after = ossl::asn1_time_rfc3339(X509_get0_notAfter(cert));
  r.fingerprint = ossl::cert_fingerprint(cert);
  if (auto pem = ossl::cert_pem(cert)) r.pem = *pem;
  if (r.kind == "container") {
    if (auto id = parse_spiffe_id(r.spiffe_id); id && id->segments.size() == 2)
      r.container_id = id->segments[1];
  }
  return r;
}

Result<ossl::X509Ptr> make_ca(EVP_PKEY* key, const std::string& common_name, int days) {
  RAIND_TRY_ASSIGN(auto cert, new_cert(common_name, key, days));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(cert.get()));
  RAIND_TRY(add_ext(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  RAIND_TRY(add_ext(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  RAIND_TRY(add_ext(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  RAIND_TRY(add_ext(cert.get(), cert.get(), NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(cert.get(), key, EVP_sha256()) <= 0) return ossl::fail_ssl("sign ca");
  return cert;
}

Result<ossl::X509Ptr> issue(const LeafSpec& spec, EVP_PKEY* subject_key, X509* ca_cert,
                            EVP_PKEY* ca_key) {
  RAIND_TRY_ASSIGN(auto cert, new_cert(spec.common_name, subject_key, spec.days));
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca_cert));
  RAIND_TRY(add_ext(cert.get(), ca_cert, NID_basic_constraints, "critical,CA:FALSE"));
  RAIND_TRY(add_ext(
      cert.get(), ca_cert, NID_key_usage,
      spec.server ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature"));
  RAIND_TRY(
      add_ext(cert.get(), ca_cert, NID_ext_key_usage, spec.server ? "serverAuth" : "clientAuth"));
  RAIND_TRY(add_ext(cert.get(), ca_cert, NID_subject_key_identifier, "hash"));
  RAIND_TRY(add_ext(cert.get(), ca_cert, NID_authority_key_identifier, "keyid:always"));
  std::vector<std::string> sans;
  for (const auto& d : spec.dns) sans.push_back("DNS:" + d);
  for (const auto& ip : spec.ips) sans.push_back("IP:" + ip);
  for (const auto& u : spec.uris) sans.push_back("URI:" + u);
  if (!sans.empty())
    RAIND_TRY(add_ext(cert.get(), ca_cert, NID_subject_alt_name, "critical," + join(sans)));
  if (X509_sign(cert.get(), ca_key, EVP_sha256()) <= 0) return ossl::fail_ssl("sign certificate");
  return cert;
}

Result<ContainerCsr> parse_container_csr(std::string_view pem) {
  RAIND_TRY_ASSIGN(auto req, ossl::read_csr_pem(pem));
  ossl::PkeyPtr pub(X509_REQ_get_pubkey(req.get()));
  if (!pub || X509_REQ_verify(req.get(), pub.get()) != 1) {
    ERR_clear_error();
    return fail(Errc::invalid_argument, "csr signature is invalid");
  }
  ossl::ExtStackPtr exts(X509_REQ_get_extensions(req.get()));
  ossl::NamesPtr names;
  for (int i = 0; exts && i < sk_X509_EXTENSION_num(exts.get()); ++i) {
    X509_EXTENSION* ext = sk_X509_EXTENSION_value(exts.get(), i);
    if (OBJ_obj2nid(X509_EXTENSION_get_object(ext)) != NID_subject_alt_name) continue;
    if (names) return fail(Errc::invalid_argument, "csr has more than one san extension");
    names.reset(static_cast<GENERAL_NAMES*>(X509V3_EXT_d2i(ext)));
  }
  if (!names || sk_GENERAL_NAME_num(names.get()) == 0)
    return fail(Errc::invalid_argument, "csr has no uri san");
  if (sk_GENERAL_NAME_num(names.get()) != 1)
    return fail(Errc::invalid_argument, "csr must have exactly one san (a spiffe uri)");
  auto uris = ossl::uri_sans(names.get());
  if (uris.size() != 1) return fail(Errc::invalid_argument, "csr san is not a uri");
  RAIND_TRY_ASSIGN(auto id, parse_spiffe_id(uris.front()));
  if (id.trust_domain != kTrustDomain)
    return failf(Errc::invalid_argument, "csr spiffe id '{}' is not in trust domain raind",
                 uris.front());
  if (id.segments.size() != 2 || !is_raind_id_segment(id.segments[0]) ||
      !is_raind_id_segment(id.segments[1]))
    return failf(Errc::invalid_argument,
                 "csr spiffe id '{}' must be spiffe://raind/<role>/<id> with [a-z0-9-]",
                 uris.front());
  if (id.segments[0] != "container")
    return failf(Errc::permission_denied, "csr role '{}' may not be issued (only container)",
                 id.segments[0]);
  return ContainerCsr{std::move(req), id.segments[1]};
}

Result<Pki> Pki::ensure(const std::filesystem::path& dir, std::vector<CertRecord>* generated) {
  auto log = logger("condenser.pki");
  Pki pki;
  pki.dir_ = dir;
  RAIND_TRY(sys::mkdir_p(dir, 0700));
  if (::chmod(dir.c_str(), 0700) != 0) return fail_errno("chmod " + dir.string());
  bool new_ca = false;
  if (usable(dir / "ca.crt", dir / "ca.key", nullptr)) {
    RAIND_TRY_ASSIGN(auto cert_text, read_text(dir / "ca.crt"));
    RAIND_TRY_ASSIGN(auto key_text, read_text(dir / "ca.key"));
    RAIND_TRY_ASSIGN(pki.ca_cert_, ossl::read_cert_pem(cert_text));
    RAIND_TRY_ASSIGN(pki.ca_key_, ossl::read_private_key_pem(key_text));
  } else {
    log->info("creating ca in {}", dir.string());
    RAIND_TRY_ASSIGN(pki.ca_key_, ossl::generate_ec_key());
    RAIND_TRY_ASSIGN(pki.ca_cert_, make_ca(pki.ca_key_.get(), "raind ca", 3650));
    RAIND_TRY(write_pair(dir, "ca", pki.ca_cert_.get(), pki.ca_key_.get()));
    new_ca = true;
    if (generated) generated->push_back(describe(pki.ca_cert_.get(), "ca"));
  }
  RAIND_TRY_ASSIGN(auto leaves, pki.ensure_leaves(new_ca));
  if (generated) generated->insert(generated->end(), leaves.begin(), leaves.end());
  return pki;
}

Result<std::vector<CertRecord>> Pki::ensure_leaves(bool force) {
  std::vector<CertRecord> out;
  for (const auto& leaf : leaf_files()) {
    const auto cert_path = dir_ / (std::string(leaf.stem) + ".crt");
    const auto key_path = dir_ / (std::string(leaf.stem) + ".key");
    if (!force && usable(cert_path, key_path, ca_cert_.get())) continue;
    logger("condenser.pki")->info("issuing {} certificate", leaf.kind);
    RAIND_TRY_ASSIGN(auto key, ossl::generate_ec_key());
    RAIND_TRY_ASSIGN(auto cert, issue(leaf.spec, key.get(), ca_cert_.get(), ca_key_.get()));
    RAIND_TRY(write_pair(dir_, leaf.stem, cert.get(), key.get()));
    out.push_back(describe(cert.get(), leaf.kind));
  }
  return out;
}

Result<std::vector<CertRecord>> Pki::rotate() {
  return ensure_leaves(true);
}

Result<ossl::X509Ptr> Pki::sign_container(const ContainerCsr& csr, int days) const {
  ossl::PkeyPtr pub(X509_REQ_get_pubkey(csr.req.get()));
  LeafSpec spec{"raind-container-" + csr.container_id,
                {},
                {},
                {"spiffe://raind/container/" + csr.container_id},
                false,
                days};
  return issue(spec, pub.get(), ca_cert_.get(), ca_key_.get());
}

}  // namespace raind::condenser::pki

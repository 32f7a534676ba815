#pragma once
// RAII owners for OpenSSL objects and small helpers shared by the PKI, the TLS server and tests.
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "raind/error.hpp"

namespace raind::condenser::ossl {

template <auto Fn>
struct Deleter {
  template <class T>
  void operator()(T* p) const noexcept {
    if (p) Fn(p);
  }
};

using PkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using ReqPtr = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using NamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES_free>>;
inline void free_ext_stack(STACK_OF(X509_EXTENSION) * s) {
  sk_X509_EXTENSION_pop_free(s, X509_EXTENSION_free);
}
using ExtStackPtr = std::unique_ptr<STACK_OF(X509_EXTENSION), Deleter<free_ext_stack>>;

// The OpenSSL error queue as text (drains it).
std::string last_error();
std::unexpected<Error> fail_ssl(std::string what);

Result<PkeyPtr> generate_ec_key();  // P-256
Result<PkeyPtr> read_private_key_pem(std::string_view pem);
Result<X509Ptr> read_cert_pem(std::string_view pem);
Result<ReqPtr> read_csr_pem(std::string_view pem);
Result<std::string> private_key_pem(EVP_PKEY* key);  // PKCS#8
Result<std::string> cert_pem(X509* cert);
Result<std::string> csr_pem(X509_REQ* req);

std::string sha256_hex(std::string_view bytes);
// sha256 of the DER encoding, lower-case hex (the audit log's certt_fingerprint).
std::string cert_fingerprint(X509* cert);
std::vector<std::string> uri_sans(const GENERAL_NAMES* names);
std::vector<std::string> cert_uri_sans(X509* cert);
std::string cert_common_name(X509* cert);
std::string cert_serial_hex(X509* cert);
// RFC 3339 UTC
std::string asn1_time_rfc3339(const ASN1_TIME* t);

}  // namespace raind::condenser::ossl

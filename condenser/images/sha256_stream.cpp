// The low-level SHA-256 API avoids OpenSSL 3's provider start-up cost (see common/digest.cpp);
// it is deprecated only in favour of EVP, not insecure.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "condenser/images/sha256_stream.hpp"

#include <openssl/sha.h>

namespace raind::condenser::images {

struct Sha256Stream::State {
  SHA256_CTX ctx;
};

Sha256Stream::Sha256Stream() : state_(std::make_unique<State>()) {
  SHA256_Init(&state_->ctx);
}
Sha256Stream::~Sha256Stream() = default;
Sha256Stream::Sha256Stream(Sha256Stream&&) noexcept = default;
Sha256Stream& Sha256Stream::operator=(Sha256Stream&&) noexcept = default;

void Sha256Stream::update(const void* data, std::size_t size) {
  SHA256_Update(&state_->ctx, data, size);
  bytes_ += size;
}

std::string Sha256Stream::finish() {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_Final(md, &state_->ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned char b : md) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

}  // namespace raind::condenser::images

// The low-level SHA-256 calls are deprecated in OpenSSL 3 in favour of EVP, whose start-up cost
// is what sha256_hex avoids (see there).
#define OPENSSL_SUPPRESS_DEPRECATED
#include "raind/digest.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <memory>

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "raind/sys/files.hpp"

namespace raind {
namespace {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

std::string to_hex(const unsigned char* bytes, unsigned len) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2u);
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xf]);
  }
  return out;
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  // OpenSSL's low-level SHA-256 runs the algorithm directly. The first EVP call of a process
  // (SHA256() included) initialises OpenSSL 3's providers and name tables (~1.5 ms, a fifth of
  // a whole container start in droplet, which hashes config.json on every create).
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data.data(), data.size());
  SHA256_Final(md, &ctx);
  return to_hex(md, SHA256_DIGEST_LENGTH);
}

Result<std::string> sha256_file_hex(const std::filesystem::path& path) {
  RAIND_TRY_ASSIGN(UniqueFd fd, sys::open(path, O_RDONLY));
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return fail(Errc::internal, "sha256: cannot initialise digest");
  char buffer[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(fmt::format("read {}", path.string()));
    }
    if (n == 0) break;
    if (EVP_DigestUpdate(ctx.get(), buffer, static_cast<std::size_t>(n)) != 1)
      return failf(Errc::internal, "sha256 of {}: digest update failed", path.string());
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1)
    return failf(Errc::internal, "sha256 of {}: digest final failed", path.string());
  return to_hex(md, len);
}

}  // namespace raind

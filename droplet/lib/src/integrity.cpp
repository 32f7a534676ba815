// The low-level SHA-256 API is deprecated in OpenSSL 3 but, unlike EVP, allocates nothing and
// needs no provider start-up, which is what code between clone and execve requires.
#define OPENSSL_SUPPRESS_DEPRECATED
#include "integrity.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <openssl/sha.h>

namespace raind::droplet::integrity {

int sha256_file_hex(int dirfd, const char* name, char out[kHexDigestSize + 1]) noexcept {
  int fd = ::openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return -errno;
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  unsigned char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return -err;
    }
    if (n == 0) break;
    SHA256_Update(&ctx, buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256_Final(md, &ctx);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned i = 0; i < SHA256_DIGEST_LENGTH; ++i) {
    out[2 * i] = kHex[md[i] >> 4];
    out[2 * i + 1] = kHex[md[i] & 0xf];
  }
  out[kHexDigestSize] = '\0';
  return 0;
}

}  // namespace raind::droplet::integrity

#pragma once
// Config integrity, child side: the init re-reads config.json and compares its SHA-256 with the
// digest create sent over the sync socket. Allocation-free (runs between clone and execve).
namespace raind::droplet::integrity {

inline constexpr unsigned kHexDigestSize = 64;
// Written to exec.fifo instead of the start byte when config.json changed since create.
inline constexpr char kTamperedByte = 'I';

// Hashes `name` under dirfd into out (64 hex chars + NUL). Returns 0 or -errno.
int sha256_file_hex(int dirfd, const char* name, char out[kHexDigestSize + 1]) noexcept;

}  // namespace raind::droplet::integrity

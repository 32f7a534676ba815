#pragma once
// SHA-256 digests (OpenSSL EVP) as lower-case hex, for config hashes, content addressing and
// certificate fingerprints.
#include <filesystem>
#include <string>
#include <string_view>

#include "raind/error.hpp"

namespace raind {

// 64 lower-case hex characters.
std::string sha256_hex(std::string_view data);
// Streams the file (no full read into memory); errors name the path.
Result<std::string> sha256_file_hex(const std::filesystem::path& path);

}  // namespace raind

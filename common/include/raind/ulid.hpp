#pragma once
// ULIDs: 48-bit millisecond timestamp + 80 random bits, Crockford base32, 26 characters.
// Generation is monotonic within one process: ids made in the same millisecond still sort in
// creation order. Container ids are the first 12 characters, lower-cased; policy ids the full 26.
#include <cstdint>
#include <string>
#include <string_view>

namespace raind {

std::string new_ulid();
// Deterministic form for tests: encodes the given time and 80-bit randomness.
std::string encode_ulid(std::uint64_t unix_ms, std::uint16_t random_hi, std::uint64_t random_lo);
bool is_valid_ulid(std::string_view text);
std::string new_container_id();  // first 12 chars of a fresh ULID, lower-case
std::string new_policy_id();     // full 26-char ULID

}  // namespace raind

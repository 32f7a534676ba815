#pragma once
// Container ids and names. Ids are the first 12 characters of a ULID, lower-cased: sortable by
// creation time and short enough for "rd_<id>" to fit an interface name (15 bytes). Names are
// chosen by the user or generated as <adjective>-<noun>-NNNN; uniqueness is the caller's
// knowledge, passed in as a predicate.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "raind/error.hpp"

namespace raind::condenser::containers {

inline constexpr std::size_t kContainerIdLength = 12;
inline constexpr std::size_t kMaxNameLength = 63;

// First 12 characters of `ulid`, lower-cased. The ULID must be valid.
Result<std::string> container_id_from_ulid(std::string_view ulid);
std::string new_container_id();
// 12 characters of lower-case Crockford base32 (what container_id_from_ulid produces).
bool is_container_id(std::string_view text);

// [a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}
Status validate_container_name(std::string_view name);

// "<adjective>-<noun>-NNNN" from indices into the built-in word lists (taken modulo their sizes)
// and a number (modulo 10000).
std::string default_name(std::size_t adjective, std::size_t noun, unsigned number);
std::size_t adjective_count();
std::size_t noun_count();

using NameTaken = std::function<bool(std::string_view name)>;
using RandomSource = std::function<std::uint32_t()>;
// A generated name for which taken() is false. Gives up after a bounded number of tries
// (Errc::unavailable) rather than loop when nearly every name is used.
Result<std::string> generate_name(const NameTaken& taken, const RandomSource& random);
Result<std::string> generate_name(const NameTaken& taken);  // seeded from std::random_device

}  // namespace raind::condenser::containers

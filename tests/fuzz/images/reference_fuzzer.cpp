// Image references (condenser/images/reference.cpp) from arbitrary text. Invariants: the
// canonical form and the familiar (short) form both parse back to the same reference, and
// is_sha256_digest agrees with what a parsed digest looks like.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "condenser/images/reference.hpp"
#include "fuzz_check.hpp"

namespace images = raind::condenser::images;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)images::is_sha256_digest(text);
  auto ref = images::parse_reference(text);
  if (!ref) return 0;
  RAIND_FUZZ_CHECK(!ref->registry.empty() && !ref->repository.empty());
  RAIND_FUZZ_CHECK(!ref->tag.empty() || !ref->digest.empty());
  RAIND_FUZZ_CHECK(ref->digest.empty() || images::is_sha256_digest(ref->digest));
  RAIND_FUZZ_CHECK(!ref->manifest_ref().empty());

  auto canonical = images::parse_reference(ref->to_string());
  RAIND_FUZZ_CHECK(canonical.has_value());
  RAIND_FUZZ_CHECK(*canonical == *ref);
  RAIND_FUZZ_CHECK(canonical->to_string() == ref->to_string());

  auto familiar = images::parse_reference(ref->familiar());
  RAIND_FUZZ_CHECK(familiar.has_value());
  RAIND_FUZZ_CHECK(*familiar == *ref);
  return 0;
}

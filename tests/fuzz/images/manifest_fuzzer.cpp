// Registry and store documents (condenser/images/oci_manifest.cpp, image_index.cpp) from
// arbitrary text: image indexes / manifest lists, manifests, image configs, and the store's own
// images/index.json. Invariants: every parsed digest is a valid sha256 digest, an index that
// parses is recognised as one, platform selection returns a listed entry, and the store index
// round-trips through serialize/parse.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "condenser/images/image_index.hpp"
#include "condenser/images/oci_manifest.hpp"
#include "condenser/images/reference.hpp"
#include "fuzz_check.hpp"

namespace images = raind::condenser::images;

namespace {

void check_descriptor(const images::Descriptor& d) {
  RAIND_FUZZ_CHECK(images::is_sha256_digest(d.digest));
  RAIND_FUZZ_CHECK(d.size >= 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  const bool index_like = images::looks_like_index(text);
  if (auto manifests = images::parse_index_manifests(text)) {
    RAIND_FUZZ_CHECK(index_like);
    for (const auto& d : *manifests) check_descriptor(d);
    for (const images::Platform& want :
         {images::Platform{"linux", "amd64", ""}, images::Platform{"linux", "arm64", "v8"},
          images::Platform{"linux", "arm", "v7"}}) {
      auto chosen = images::select_platform(*manifests, want);
      if (!chosen) continue;
      RAIND_FUZZ_CHECK(chosen->platform.has_value());
      RAIND_FUZZ_CHECK(images::platform_matches(*chosen->platform, want));
    }
  }

  if (auto manifest = images::parse_image_manifest(text)) {
    check_descriptor(manifest->config);
    for (const auto& d : manifest->layers) check_descriptor(d);
  }

  if (auto config = images::parse_image_config(text)) {
    for (const auto& id : config->diff_ids) RAIND_FUZZ_CHECK(images::is_sha256_digest(id));
    (void)config->platform.to_string();
  }

  if (auto records = images::parse_image_index(text)) {
    for (const auto& r : *records) {
      RAIND_FUZZ_CHECK(images::is_sha256_digest(r.config_digest));
      RAIND_FUZZ_CHECK(r.layer_digests.size() == r.diff_ids.size());
      RAIND_FUZZ_CHECK(r.id().size() == 64);
    }
    std::string rendered = images::serialize_image_index(*records);
    auto again = images::parse_image_index(rendered);
    RAIND_FUZZ_CHECK(again.has_value());
    RAIND_FUZZ_CHECK(*again == *records);
  }
  return 0;
}

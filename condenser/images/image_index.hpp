#pragma once
// The store's image index (images/index.json): which references name which manifest, config and
// layers. Pure data + (de)serialisation; the store does the file I/O and locking.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "raind/error.hpp"

namespace raind::condenser::images {

struct ImageRecord {
  std::string reference;                   // canonical Reference::to_string()
  std::string manifest_digest;             // "sha256:…" of the (OCI) manifest blob
  std::string config_digest;               // "sha256:…"; its hex is the image id
  std::vector<std::string> layer_digests;  // layer blobs as stored, bottom layer first
  std::vector<std::string> diff_ids;       // uncompressed layer digests, bottom layer first
  std::int64_t created_unix = 0;           // when the record was written
  std::string index_digest;                // the index/manifest list it was chosen from, if any

  // The image id: the config digest's hex, as docker shows it.
  std::string id() const;
  friend bool operator==(const ImageRecord&, const ImageRecord&) = default;
};

std::string serialize_image_index(const std::vector<ImageRecord>& images);
Result<std::vector<ImageRecord>> parse_image_index(std::string_view json);

}  // namespace raind::condenser::images

#pragma once
// Reads a layer tarball (gzip, zstd, or plain — detected from the bytes) and hashes the
// *uncompressed* stream as it goes, which yields the layer's diff-id without a second pass.
//
// Two libarchive readers are chained: the outer one only decompresses (format "raw"), the inner
// one parses tar from the outer one's output, which we hash on the way through.
#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <string>

#include "condenser/images/sha256_stream.hpp"
#include "raind/error.hpp"

namespace raind::condenser::images {

class LayerReader {
 public:
  // Reads from fd (its current offset); the fd stays owned by the caller and must outlive this.
  static Result<std::unique_ptr<LayerReader>> open(int fd);
  ~LayerReader();
  LayerReader(const LayerReader&) = delete;
  LayerReader& operator=(const LayerReader&) = delete;

  // The next entry, or nullptr at the end of the archive.
  Result<archive_entry*> next();
  // The tar reader, for archive_read_data_block on the current entry.
  archive* tar() { return inner_; }
  Error error(std::string_view what);
  // Drains what follows the tar end marker (padding) into the hash; returns "sha256:<hex>".
  Result<std::string> finish_diff_id();
  std::size_t uncompressed_bytes() const { return hash_.bytes(); }

 private:
  LayerReader() = default;
  static la_ssize_t read_decompressed(archive* inner, void* self, const void** buffer);

  archive* outer_ = nullptr;
  archive* inner_ = nullptr;
  Sha256Stream hash_;
  bool outer_eof_ = false;
};

}  // namespace raind::condenser::images

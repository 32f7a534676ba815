#pragma once
// On-disk image store under one root directory:
//   blobs/sha256/<hex>      content-addressed blobs (manifests, configs, layer tarballs)
//   layers/<diff-id hex>/fs a layer unpacked once, shared by every image that has it
//   images/index.json       references → manifest, config, layers (atomic rewrite, flock'd)
//   tmp/                    blobs being written (same file system, so rename is atomic)
// Every write lands under a temporary name and is renamed into place after verification, so
// concurrent writers of the same content converge and a crash leaves only temporaries behind.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "condenser/images/image_index.hpp"
#include "raind/error.hpp"

namespace raind::condenser::images {

// Produces the next chunk of a blob; an empty view means the end.
using BlobSource = std::function<Result<std::string_view>()>;

class ImageStore {
 public:
  // Creates the layout (mode 0700 root) if missing.
  static Result<ImageStore> open(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }

  // --- blobs -------------------------------------------------------------------------------
  // Path of a blob; digest must be "sha256:<64 hex>" (checked by callers via is_sha256_digest).
  std::filesystem::path blob_path(std::string_view digest) const;
  bool has_blob(std::string_view digest) const;
  // Streams a blob in, hashing as it goes; with expected_digest a mismatch is Errc::integrity
  // and nothing is stored. Returns the digest.
  Result<std::string> put_blob(const BlobSource& source,
                               std::optional<std::string_view> expected_digest = std::nullopt);
  Result<std::string> put_blob_bytes(
      std::string_view bytes, std::optional<std::string_view> expected_digest = std::nullopt);
  // Moves a file already verified to hold `digest` (a finished download) into the store.
  Status adopt_blob(const std::filesystem::path& file, std::string_view digest);
  // Where a download of `digest` keeps its bytes until verified: survives a daemon restart so
  // the next pull resumes it; removed by garbage collection.
  std::filesystem::path partial_blob_path(std::string_view digest) const;
  // Reads a small blob (manifest, config) whole; larger than max_size is an error.
  Result<std::string> read_blob(std::string_view digest, std::size_t max_size = 16u << 20) const;

  // --- layers ------------------------------------------------------------------------------
  // layers/<hex>/fs, whether or not it exists.
  std::filesystem::path layer_dir(std::string_view diff_id) const;
  bool has_layer(std::string_view diff_id) const;
  // Unpacks blob_digest as layer diff_id unless already present; the unpacked stream must hash
  // to diff_id. Safe to call concurrently for the same layer. Returns layer_dir(diff_id).
  Result<std::filesystem::path> ensure_layer(std::string_view diff_id,
                                             std::string_view blob_digest);

  // --- images ------------------------------------------------------------------------------
  // Adds or replaces the record with the same reference.
  Status add_image(const ImageRecord& record);
  Result<std::vector<ImageRecord>> list_images() const;
  // name: a reference ("busybox", "busybox:1.36", "localhost:5000/a/b@sha256:…"), or an image id,
  // a unique prefix of one, or "sha256:<id>".
  Result<ImageRecord> find_image(std::string_view name) const;
  // A reference removes that tag; an id removes every tag of the image. Returns what was removed.
  // Blobs and layers stay until garbage collection.
  Result<std::vector<ImageRecord>> remove_image(std::string_view name);
  // Overlay lowerdirs of an image, top layer first; every layer must be unpacked.
  Result<std::vector<std::filesystem::path>> lowerdirs(const ImageRecord& image) const;

  // Removes temporaries left by a crash (partial downloads are kept for resuming); call only
  // when no other writer is active (start-up).
  Status remove_temporaries();

  // --- garbage collection ------------------------------------------------------------------
  struct GcStats {
    std::size_t blobs_removed = 0;
    std::size_t layers_removed = 0;
    std::size_t partials_removed = 0;
    std::uint64_t bytes_freed = 0;
  };
  // Removes every blob and unpacked layer no image record refers to, except the configs in
  // keep_configs (images of existing containers whose tag moved on) and their layers, and
  // partial downloads. The caller must exclude concurrent pulls and imports.
  Result<GcStats> collect_garbage(const std::vector<std::string>& keep_configs);

 private:
  explicit ImageStore(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path index_path() const { return root_ / "images" / "index.json"; }
  Result<std::vector<ImageRecord>> read_index() const;
  // Runs fn on the index under an exclusive lock and writes back what it leaves.
  Status update_index(const std::function<Status(std::vector<ImageRecord>&)>& fn);

  std::filesystem::path root_;
};

}  // namespace raind::condenser::images

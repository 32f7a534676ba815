#pragma once
// The files of an image archive (OCI layout tarball or docker-archive), read in one pass:
// blobs/sha256/<hex> go straight into the store, verified against their names; other large
// files (docker-archive layers) go into the store under their computed digest; small files
// (index.json, manifest.json, configs) stay in memory. Nothing is extracted by path, so a hostile
// outer archive cannot write anywhere.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "condenser/images/store.hpp"
#include "raind/error.hpp"

namespace raind::condenser::images {

class ArchiveFiles {
 public:
  static Result<ArchiveFiles> read(ImageStore& store, const std::filesystem::path& tar_path);

  bool contains(std::string_view path) const;
  // Whole content of a file (small ones from memory, others from the store).
  Result<std::string> bytes(std::string_view path) const;
  // Digest of a file's content, putting a small file into the store on first use.
  Result<std::string> blob(std::string_view path);

 private:
  explicit ArchiveFiles(ImageStore& store) : store_(&store) {}
  // Follows symlinks/hardlinks inside the archive (bounded); nullopt if absent.
  std::optional<std::string> resolve(std::string_view path) const;

  ImageStore* store_;
  std::map<std::string, std::string, std::less<>> small_;  // path → content
  std::map<std::string, std::string, std::less<>> blobs_;  // path → digest in the store
  std::map<std::string, std::string, std::less<>> links_;  // path → normalised target path
};

// "./a//b/../c" → "a/c"; nullopt if it climbs above the archive root.
std::optional<std::string> normalize_archive_path(std::string_view path);

}  // namespace raind::condenser::images

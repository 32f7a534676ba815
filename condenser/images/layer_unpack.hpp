#pragma once
// Unpacks one OCI/Docker layer tarball into a directory in overlayfs form, treating the tarball
// as hostile: nothing is ever written outside dest.
//
//  - compression (gzip, zstd, none) is detected from the bytes;
//  - OCI whiteouts ".wh.<name>" become overlay whiteouts (char device 0/0 named <name>) and
//    ".wh..wh..opq" sets trusted.overlay.opaque=y on its directory;
//  - ownership, modes (setuid included), xattrs, mtimes, symlinks and in-layer hardlinks are kept;
//  - rejected, with the entry name in the error and dest removed: absolute paths, ".." components,
//    any path through a symlink, hardlinks leaving the layer, char/block devices outside /dev.
#include <cstdint>
#include <filesystem>
#include <string>

#include "raind/error.hpp"

namespace raind::condenser::images {

struct UnpackStats {
  std::string diff_id;  // "sha256:<hex>" of the uncompressed tar stream
  std::uint64_t uncompressed_bytes = 0;
  std::uint64_t entries = 0;
  std::uint64_t whiteouts = 0;  // ".wh.<name>" and opaque markers
};

// dest must not exist; it is created (mode 0755) and removed again on any failure.
Result<UnpackStats> unpack_layer(const std::filesystem::path& tar_path,
                                 const std::filesystem::path& dest);
// Same, reading the layer from fd's current offset (fd is not closed).
Result<UnpackStats> unpack_layer_fd(int fd, const std::filesystem::path& dest);

}  // namespace raind::condenser::images

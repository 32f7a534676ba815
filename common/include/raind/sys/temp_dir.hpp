#pragma once
// A private temporary directory (mode 0700) removed with its contents on destruction. Removal
// never descends into other file systems, so a test that forgot to unmount a bind mount inside
// the directory cannot delete the mount's source.
#include <filesystem>
#include <string_view>

#include "raind/error.hpp"

namespace raind::sys {

class TempDir {
 public:
  // Creates <base>/<tag>-XXXXXX. base defaults to $RAIND_TEST_ROOT (set by scripts/sandbox.sh),
  // else $TMPDIR, else /tmp.
  static Result<TempDir> create(std::string_view tag = "raind",
                                const std::filesystem::path& base = {});

  TempDir() = default;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  TempDir& operator=(TempDir&& other) noexcept;
  ~TempDir();

  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::filesystem::path& rel) const { return path_ / rel; }
  // Keeps the directory on disk (e.g. to inspect a failed test) and returns its path.
  std::filesystem::path release();
  // Removes the directory now; the object becomes empty.
  Status remove();

 private:
  explicit TempDir(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

}  // namespace raind::sys

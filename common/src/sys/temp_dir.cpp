#include "raind/sys/temp_dir.hpp"

#include <stdlib.h>

#include <string>

#include <fmt/format.h>

#include "raind/sys/files.hpp"

namespace raind::sys {

Result<TempDir> TempDir::create(std::string_view tag, const std::filesystem::path& base) {
  std::filesystem::path dir = base;
  if (dir.empty()) {
    if (const char* root = std::getenv("RAIND_TEST_ROOT"); root && *root) {
      dir = root;
    } else if (const char* tmp = std::getenv("TMPDIR"); tmp && *tmp) {
      dir = tmp;
    } else {
      dir = "/tmp";
    }
  }
  std::string tmpl = (dir / fmt::format("{}-XXXXXX", tag)).string();
  // mkdtemp creates the directory 0700 with an unpredictable name.
  if (::mkdtemp(tmpl.data()) == nullptr)
    return fail_errno(fmt::format("create temporary directory in {}", dir.string()));
  return TempDir(std::filesystem::path(tmpl));
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    (void)remove();
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

TempDir::~TempDir() {
  (void)remove();
}

std::filesystem::path TempDir::release() {
  std::filesystem::path p = std::move(path_);
  path_.clear();
  return p;
}

Status TempDir::remove() {
  if (path_.empty()) return ok();
  Status result = remove_all_xdev(path_);
  path_.clear();
  return result;
}

}  // namespace raind::sys

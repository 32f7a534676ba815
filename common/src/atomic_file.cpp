#include "raind/atomic_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include "raind/sys/files.hpp"
#include "raind/ulid.hpp"

namespace raind {

Status write_file_atomic(const std::filesystem::path& path, std::string_view content, mode_t mode,
                         Durability durability) {
  std::filesystem::path dir = path.parent_path();
  if (dir.empty()) dir = ".";
  // A unique temp name in the same directory: rename() must not cross file systems.
  std::filesystem::path tmp = dir / fmt::format(".{}.tmp-{}", path.filename().string(), new_ulid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) return fail_errno(fmt::format("create {}", tmp.string()));
  UniqueFd owned(fd);
  auto remove_tmp = [&] { ::unlink(tmp.c_str()); };

  if (auto written = sys::write_all(fd, content); !written) {
    remove_tmp();
    return std::unexpected(
        std::move(written.error()).context(fmt::format("write {}", path.string())));
  }
  if (::fchmod(fd, mode) != 0) {
    auto err = fail_errno(fmt::format("chmod {}", tmp.string()));
    remove_tmp();
    return err;
  }
  if (durability == Durability::durable && ::fsync(fd) != 0) {
    auto err = fail_errno(fmt::format("fsync {}", tmp.string()));
    remove_tmp();
    return err;
  }
  owned.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    auto err = fail_errno(fmt::format("rename {} to {}", tmp.string(), path.string()));
    remove_tmp();
    return err;
  }
  if (durability == Durability::atomic_only) return ok();
  // The rename is durable only once the directory entry is on disk.
  UniqueFd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd) return fail_errno(fmt::format("open directory {}", dir.string()));
  if (::fsync(dir_fd.get()) != 0)
    return fail_errno(fmt::format("fsync directory {}", dir.string()));
  return ok();
}

}  // namespace raind

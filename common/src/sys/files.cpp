#include "raind/sys/files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <vector>

#include <fmt/format.h>

namespace raind::sys {

Result<UniqueFd> open(const std::filesystem::path& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return fail_errno(fmt::format("open {}", path.string()));
  return UniqueFd(fd);
}

Result<std::string> read_fd(int fd) {
  std::string out;
  char buffer[16384];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("read");
    }
    if (n == 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
  }
  return out;
}

Result<std::string> read_file(const std::filesystem::path& path) {
  RAIND_TRY_ASSIGN(UniqueFd fd, sys::open(path, O_RDONLY));
  auto content = read_fd(fd.get());
  if (!content)
    return std::unexpected(
        std::move(content.error()).context(fmt::format("read {}", path.string())));
  return content;
}

Status write_all(int fd, std::string_view content) {
  while (!content.empty()) {
    ssize_t n = ::write(fd, content.data(), content.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno("write");
    }
    content.remove_prefix(static_cast<std::size_t>(n));
  }
  return ok();
}

Status write_file(const std::filesystem::path& path, std::string_view content, mode_t mode) {
  RAIND_TRY_ASSIGN(UniqueFd fd, sys::open(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
  auto written = write_all(fd.get(), content);
  if (!written)
    return std::unexpected(
        std::move(written.error()).context(fmt::format("write {}", path.string())));
  return ok();
}

Status write_existing(const std::filesystem::path& path, std::string_view content) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(fmt::format("open {}", path.string()));
  UniqueFd owned(fd);
  // Control files (cgroupfs, procfs) take the value in a single write; a short write is an error.
  ssize_t n = ::write(fd, content.data(), content.size());
  if (n < 0) {
    return fail_errno(fmt::format("write {:?} to {}", content, path.string()));
  }
  if (static_cast<std::size_t>(n) != content.size())
    return failf(Errc::system, "short write of {:?} to {}", content, path.string());
  return ok();
}

Status mkdir_p(const std::filesystem::path& path, mode_t mode) {
  if (path.empty()) return ok();
  std::filesystem::path current;
  for (const auto& part : path) {
    current /= part;
    if (current == current.root_path()) continue;
    if (::mkdir(current.c_str(), mode) != 0 && errno != EEXIST)
      return fail_errno(fmt::format("mkdir {}", current.string()));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return fail_errno(fmt::format("stat {}", path.string()));
  if (!S_ISDIR(st.st_mode))
    return failf(Errc::invalid_argument, "{} exists and is not a directory", path.string());
  return ok();
}

Status remove_all(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec && ec != std::errc::no_such_file_or_directory)
    return fail_errno(ec.value(), fmt::format("remove {}", path.string()));
  return ok();
}

bool exists(const std::filesystem::path& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

}  // namespace raind::sys

namespace raind::sys {
namespace {

// Removes `name` (relative to parent_fd) recursively. Remembers the first error and keeps going
// so one stubborn entry does not leave the rest of the tree behind.
void remove_xdev_at(int parent_fd, const char* name, dev_t dev, const std::filesystem::path& shown,
                    Status& first_error) {
  auto note = [&](Status s) {
    if (first_error && !s) first_error = std::move(s);
  };
  struct statx stx {};
  if (::statx(parent_fd, name, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MODE, &stx) != 0) {
    if (errno != ENOENT) note(fail_errno(fmt::format("stat {}", shown.string())));
    return;
  }
  if (!S_ISDIR(stx.stx_mode)) {
    if (::unlinkat(parent_fd, name, 0) != 0 && errno != ENOENT)
      note(fail_errno(fmt::format("remove {}", shown.string())));
    return;
  }
  bool mount_root = (stx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
                    (stx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
  if (mount_root || ::makedev(stx.stx_dev_major, stx.stx_dev_minor) != dev) {
    note(failf(Errc::conflict, "{} is a mount point; not removing what is mounted there",
               shown.string()));
    return;
  }
  int fd = ::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == EACCES) {
    // A test may have made a directory unreadable; we own it, so make it ours again.
    (void)!::fchmodat(parent_fd, name, 0700, 0);  // best effort; the open below reports
    fd = ::openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) {
    note(fail_errno(fmt::format("open {}", shown.string())));
    return;
  }
  DIR* dir = ::fdopendir(fd);
  if (!dir) {
    note(fail_errno(fmt::format("open {}", shown.string())));
    ::close(fd);
    return;
  }
  // Names are collected first: removing entries while readdir() walks them may skip some.
  std::vector<std::string> names;
  while (dirent* entry = ::readdir(dir)) {
    std::string_view n = entry->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  for (const auto& n : names) remove_xdev_at(::dirfd(dir), n.c_str(), dev, shown / n, first_error);
  ::closedir(dir);
  if (::unlinkat(parent_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
    note(fail_errno(fmt::format("remove directory {}", shown.string())));
}

}  // namespace

Status remove_all_xdev(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return ok();
    return fail_errno(fmt::format("stat {}", path.string()));
  }
  Status result = ok();
  remove_xdev_at(AT_FDCWD, path.c_str(), st.st_dev, path, result);
  return result;
}

Result<std::filesystem::path> read_link(const std::filesystem::path& path) {
  std::string buffer(256, '\0');
  for (;;) {
    ssize_t n = ::readlink(path.c_str(), buffer.data(), buffer.size());
    if (n < 0) return fail_errno(fmt::format("readlink {}", path.string()));
    if (static_cast<std::size_t>(n) < buffer.size()) {
      buffer.resize(static_cast<std::size_t>(n));
      return std::filesystem::path(buffer);
    }
    buffer.resize(buffer.size() * 2);  // possibly truncated: retry with more room
  }
}

}  // namespace raind::sys

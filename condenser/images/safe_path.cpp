#include "condenser/images/safe_path.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace raind::condenser::images {
namespace {

// One component, no symlinks at all, never above dir_fd. openat2 makes the guarantee explicit;
// O_NOFOLLOW on a single component is the same guarantee on kernels without it.
int open_component(int dir_fd, const std::string& name, int flags) {
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags | O_NOFOLLOW | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, dir_fd, name.c_str(), &how, sizeof(how));
  if (fd < 0 && errno == ENOSYS)
    return ::openat(dir_fd, name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
  return static_cast<int>(fd);
}

}  // namespace

Result<std::vector<std::string>> split_entry_path(std::string_view path) {
  if (path.starts_with('/'))
    return failf(Errc::invalid_argument, "absolute path '{}' is not allowed in a layer", path);
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    auto part = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part == "..") return failf(Errc::invalid_argument, "path '{}' has a '..' component", path);
    if (!part.empty() && part != ".") out.emplace_back(part);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

Result<UniqueFd> open_dir_beneath(int root_fd, std::span<const std::string> components,
                                  bool create_missing) {
  UniqueFd current(::fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (!current) return fail_errno("dup layer root fd");
  for (const auto& name : components) {
    int fd = open_component(current.get(), name, O_RDONLY | O_DIRECTORY);
    if (fd < 0 && errno == ENOENT && create_missing) {
      if (::mkdirat(current.get(), name.c_str(), 0755) != 0 && errno != EEXIST)
        return fail_errno(fmt::format("create directory '{}'", name));
      fd = open_component(current.get(), name, O_RDONLY | O_DIRECTORY);
    }
    if (fd < 0) {
      int err = errno;
      struct stat st {};
      if (::fstatat(current.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode))
          return failf(Errc::invalid_argument,
                       "path component '{}' is a symlink (never followed inside a layer)", name);
        if (!S_ISDIR(st.st_mode))
          return failf(Errc::invalid_argument, "path component '{}' is not a directory", name);
      }
      return fail_errno(err, fmt::format("open directory '{}'", name));
    }
    current.reset(fd);
  }
  return current;
}

Status remove_at(int dir_fd, const std::string& name) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return ok();
    return fail_errno(fmt::format("stat '{}'", name));
  }
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT)
      return fail_errno(fmt::format("remove '{}'", name));
    return ok();
  }
  int fd = open_component(dir_fd, name, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return fail_errno(fmt::format("open directory '{}'", name));
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) {
    ::close(fd);
    return fail_errno(fmt::format("read directory '{}'", name));
  }
  std::vector<std::string> children;
  while (dirent* ent = ::readdir(dir)) {
    std::string child = ent->d_name;
    if (child != "." && child != "..") children.push_back(std::move(child));
  }
  Status status = ok();
  for (const auto& child : children) {
    status = remove_at(::dirfd(dir), child);
    if (!status) break;
  }
  ::closedir(dir);
  RAIND_TRY(status);
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return fail_errno(fmt::format("remove directory '{}'", name));
  return ok();
}

}  // namespace raind::condenser::images

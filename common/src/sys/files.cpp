#include "raind/sys/files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

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

#pragma once
// Thin file-system wrappers that capture errno at the call site and name the path in the error.
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

#include "raind/error.hpp"
#include "raind/unique_fd.hpp"

namespace raind::sys {

Result<UniqueFd> open(const std::filesystem::path& path, int flags, mode_t mode = 0);
Result<std::string> read_file(const std::filesystem::path& path);
Result<std::string> read_fd(int fd);
// Writes (truncating) without fsync; for sysfs/cgroupfs/procfs files use write_existing.
Status write_file(const std::filesystem::path& path, std::string_view content, mode_t mode = 0644);
// Writes to an existing file without O_CREAT/O_TRUNC (cgroup, proc, sys control files).
Status write_existing(const std::filesystem::path& path, std::string_view content);
Status write_all(int fd, std::string_view content);
Status mkdir_p(const std::filesystem::path& path, mode_t mode = 0755);
// Removes a path recursively; missing is not an error.
Status remove_all(const std::filesystem::path& path);
// Like remove_all, but never descends into a mount point (bind mounts included): the mounted
// tree is left untouched and reported as a conflict error after everything else is removed.
// Symlinks are removed, never followed.
Status remove_all_xdev(const std::filesystem::path& path);
bool exists(const std::filesystem::path& path);
// The target of a symbolic link (not resolved further); errors name the path.
Result<std::filesystem::path> read_link(const std::filesystem::path& path);

}  // namespace raind::sys

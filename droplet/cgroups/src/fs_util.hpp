#pragma once
// Small cgroupfs I/O helpers whose errors name the file and the value.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include <fmt/format.h>

#include "raind/error.hpp"
#include "raind/sys/files.hpp"

namespace raind::cgroups {

inline Status write_control(const std::filesystem::path& dir, const std::string& file,
                            std::string_view value) {
  auto path = dir / file;
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return fail_errno(fmt::format("open {}", path.string()));
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return fail_errno(err, fmt::format("write {} = {} in {}", file, value, dir.string()));
  return ok();
}

inline Result<std::string> read_control(const std::filesystem::path& dir, const std::string& file) {
  return sys::read_file(dir / file);
}

inline std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// mkdir -p that reports which directories it created (so destroy() removes only those).
inline Status make_dirs(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return fail_errno(ec.value(), fmt::format("create cgroup {}", path.string()));
  return ok();
}

// Removes a cgroup directory and any child cgroups, deepest first. The kernel refuses rmdir
// (EBUSY) for a short time after the last task exits, so each removal is retried briefly.
inline Status remove_cgroup_tree(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) return ok();
  std::vector<std::filesystem::path> dirs;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) dirs.push_back(it->path());
  }
  std::sort(dirs.begin(), dirs.end(),
            [](const auto& a, const auto& b) { return a.string().size() > b.string().size(); });
  dirs.push_back(dir);
  for (const auto& d : dirs) {
    for (int attempt = 0;; ++attempt) {
      if (::rmdir(d.c_str()) == 0 || errno == ENOENT) break;
      if (errno != EBUSY || attempt >= 100)
        return fail_errno(fmt::format("remove cgroup {}", d.string()));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return ok();
}

}  // namespace raind::cgroups

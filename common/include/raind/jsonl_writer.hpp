#pragma once
// Append-only JSON Lines writer with size-based rotation (file, file.1 … file.N). Thread-safe.
// Opened O_APPEND|O_CLOEXEC|O_NOFOLLOW. A write that fails (e.g. disk full) is counted in
// dropped() and reported once per failure streak; the writer keeps working when space returns.
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "raind/error.hpp"
#include "raind/unique_fd.hpp"

namespace raind {

struct RotationPolicy {
  std::uint64_t max_bytes = 50ull * 1024 * 1024;  // rotate when the file would exceed this
  unsigned max_files = 5;                         // keep file.1 … file.<max_files>
};

class JsonlWriter {
 public:
  static Result<std::unique_ptr<JsonlWriter>> open(std::filesystem::path path,
                                                   RotationPolicy policy = {}, mode_t mode = 0640);
  // Writes one record (one line, newline added). Lines must not contain '\n'.
  Status write_line(std::string_view line);
  // Several records at once (each line ending in '\n'): one write(), for busy writers that
  // batch; `records` is how many lines the block holds (for the counters).
  Status write_lines(std::string_view block, std::uint64_t records);
  Status write(const nlohmann::json& record);

  std::uint64_t written() const;
  std::uint64_t dropped() const;
  const std::filesystem::path& path() const { return path_; }

 private:
  JsonlWriter(std::filesystem::path path, RotationPolicy policy, mode_t mode, UniqueFd fd,
              std::uint64_t size);
  Status rotate_locked();
  Status reopen_locked();

  std::filesystem::path path_;
  RotationPolicy policy_;
  mode_t mode_;
  UniqueFd fd_;
  std::uint64_t size_ = 0;
  std::uint64_t written_ = 0;
  std::uint64_t dropped_ = 0;
  bool in_failure_ = false;
  mutable std::mutex mutex_;
};

}  // namespace raind

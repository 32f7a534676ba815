#include "raind/jsonl_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "raind/log.hpp"
#include "raind/sys/files.hpp"

namespace raind {
namespace {

constexpr int kOpenFlags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW;

std::filesystem::path numbered(const std::filesystem::path& path, unsigned n) {
  return path.string() + "." + std::to_string(n);
}

}  // namespace

JsonlWriter::JsonlWriter(std::filesystem::path path, RotationPolicy policy, mode_t mode,
                         UniqueFd fd, std::uint64_t size)
    : path_(std::move(path)), policy_(policy), mode_(mode), fd_(std::move(fd)), size_(size) {}

Result<std::unique_ptr<JsonlWriter>> JsonlWriter::open(std::filesystem::path path,
                                                       RotationPolicy policy, mode_t mode) {
  if (policy.max_files == 0) policy.max_files = 1;
  UniqueFd fd(::open(path.c_str(), kOpenFlags, mode));
  if (!fd) return fail_errno(fmt::format("open log {}", path.string()));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno(fmt::format("stat log {}", path.string()));
  if (!S_ISREG(st.st_mode))
    return failf(Errc::invalid_argument, "log {} is not a regular file", path.string());
  return std::unique_ptr<JsonlWriter>(new JsonlWriter(std::move(path), policy, mode, std::move(fd),
                                                      static_cast<std::uint64_t>(st.st_size)));
}

Status JsonlWriter::reopen_locked() {
  UniqueFd fd(::open(path_.c_str(), kOpenFlags, mode_));
  if (!fd) return fail_errno(fmt::format("open log {}", path_.string()));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno(fmt::format("stat log {}", path_.string()));
  fd_ = std::move(fd);
  size_ = static_cast<std::uint64_t>(st.st_size);
  return ok();
}

Status JsonlWriter::rotate_locked() {
  fd_.reset();
  // file.(N-1) -> file.N … file -> file.1; the oldest falls off the end.
  ::unlink(numbered(path_, policy_.max_files).c_str());
  for (unsigned i = policy_.max_files; i > 1; --i)
    ::rename(numbered(path_, i - 1).c_str(), numbered(path_, i).c_str());
  if (::rename(path_.c_str(), numbered(path_, 1).c_str()) != 0 && errno != ENOENT)
    return fail_errno(fmt::format("rotate log {}", path_.string()));
  return reopen_locked();
}

Status JsonlWriter::write_line(std::string_view line) {
  std::string buffer;
  buffer.reserve(line.size() + 1);
  buffer.append(line);
  buffer.push_back('\n');
  return write_lines(buffer, 1);
}

Status JsonlWriter::write_lines(std::string_view block, std::uint64_t records) {
  std::lock_guard lock(mutex_);
  Status result = ok();
  if (!fd_) result = reopen_locked();
  if (result && size_ > 0 && size_ + block.size() > policy_.max_bytes) result = rotate_locked();
  if (result) {
    // One write() per call: with O_APPEND, concurrent writers never interleave inside a line.
    ssize_t n = ::write(fd_.get(), block.data(), block.size());
    if (n == static_cast<ssize_t>(block.size())) {
      size_ += block.size();
      written_ += records;
      in_failure_ = false;
      return ok();
    }
    int err = n < 0 ? errno : ENOSPC;
    if (n > 0) {
      // Partial write (disk full): cut it off so the file keeps only whole JSON lines.
      if (::ftruncate(fd_.get(), static_cast<off_t>(size_)) != 0) {
        // Could not truncate: end the fragment so at least the next record starts cleanly.
        if (::write(fd_.get(), "\n", 1) == 1) size_ += static_cast<std::uint64_t>(n) + 1;
      }
    }
    result = fail_errno(err, fmt::format("write log {}", path_.string()));
  }
  dropped_ += records;
  if (!in_failure_) {
    in_failure_ = true;
    logger("jsonl")->warn("{} (dropping records until writes succeed again)",
                          result.error().what());
  }
  return result;
}

Status JsonlWriter::write(const nlohmann::json& record) {
  return write_line(record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

std::uint64_t JsonlWriter::written() const {
  std::lock_guard lock(mutex_);
  return written_;
}

std::uint64_t JsonlWriter::dropped() const {
  std::lock_guard lock(mutex_);
  return dropped_;
}

}  // namespace raind

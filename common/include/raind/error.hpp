#pragma once
// One error type for all of Raind: a code, a message, errno captured at the call site, and
// context frames added by each layer ("create container abc: mount /proc: EPERM").
#include <expected>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/core.h>

namespace raind {

enum class Errc {
  invalid_argument,   // caller's input is wrong (HTTP 400, exit 1)
  not_found,          // object does not exist (404)
  already_exists,     // duplicate id/name (409)
  conflict,           // wrong state for the operation (409)
  permission_denied,  // authz / EPERM (403)
  unauthenticated,    // no identity (401)
  parse,              // malformed JSON/YAML/config (400)
  integrity,          // hash/digest mismatch
  unsupported,        // kernel/host lacks a feature
  timeout,
  unavailable,  // peer not reachable
  system,       // syscall failure; see sys_errno()
  internal,
};

std::string_view errc_name(Errc code) noexcept;
// How a client reads an HTTP error status from condenserd (the inverse of the API's mapping).
Errc errc_from_http_status(unsigned status) noexcept;

class Error {
 public:
  Error(Errc code, std::string message) : code_(code), message_(std::move(message)) {}
  Error(Errc code, std::string message, int sys_errno)
      : code_(code), message_(std::move(message)), sys_errno_(sys_errno) {}

  // Error from a failed syscall: maps common errnos to codes (ENOENT → not_found, EEXIST →
  // already_exists, EPERM/EACCES → permission_denied, else system).
  static Error from_errno(int err, std::string what);

  Errc code() const noexcept { return code_; }
  int sys_errno() const noexcept { return sys_errno_; }
  const std::string& message() const noexcept { return message_; }
  const std::vector<std::string>& frames() const noexcept { return frames_; }

  // Adds an outer context frame, e.g. .context("start container abc").
  Error& context(std::string frame) & {
    frames_.push_back(std::move(frame));
    return *this;
  }
  Error&& context(std::string frame) && {
    frames_.push_back(std::move(frame));
    return std::move(*this);
  }

  // "outer: inner: message: strerror(errno)"
  std::string what() const;

 private:
  Errc code_;
  std::string message_;
  int sys_errno_ = 0;
  std::vector<std::string> frames_;  // innermost first
};

template <class T>
using Result = std::expected<T, Error>;
using Status = Result<void>;

inline std::unexpected<Error> fail(Errc code, std::string message) {
  return std::unexpected<Error>(Error(code, std::move(message)));
}

template <class... Args>
std::unexpected<Error> failf(Errc code, fmt::format_string<Args...> format, Args&&... args) {
  return std::unexpected<Error>(Error(code, fmt::format(format, std::forward<Args>(args)...)));
}

// Captures errno immediately; call directly after the failing syscall.
std::unexpected<Error> fail_errno(std::string what);
std::unexpected<Error> fail_errno(int err, std::string what);

inline Status ok() {
  return {};
}

// Adds a context frame to a failed result, passes a successful one through.
template <class T>
Result<T> with_context(Result<T>&& result, std::string frame) {
  if (!result) result.error().context(std::move(frame));
  return std::move(result);
}

}  // namespace raind

#define RAIND_CONCAT_INNER(a, b) a##b
#define RAIND_CONCAT(a, b) RAIND_CONCAT_INNER(a, b)

// RAIND_TRY(expr): returns the error of a failed Status/Result from the enclosing function.
#define RAIND_TRY(expr)                                                             \
  do {                                                                              \
    auto&& raind_try_result_ = (expr);                                              \
    if (!raind_try_result_)                                                         \
      return std::unexpected<::raind::Error>(std::move(raind_try_result_.error())); \
  } while (0)

// RAIND_TRY_ASSIGN(auto x, expr): declares/assigns the value or returns the error.
#define RAIND_TRY_ASSIGN(lhs, expr)                                 \
  auto&& RAIND_CONCAT(raind_try_tmp_, __LINE__) = (expr);           \
  if (!RAIND_CONCAT(raind_try_tmp_, __LINE__))                      \
    return std::unexpected<::raind::Error>(                         \
        std::move(RAIND_CONCAT(raind_try_tmp_, __LINE__).error())); \
  lhs = std::move(*RAIND_CONCAT(raind_try_tmp_, __LINE__))

// The same for coroutines (co_return).
#define RAIND_CO_TRY(expr)                                                             \
  do {                                                                                 \
    auto&& raind_try_result_ = (expr);                                                 \
    if (!raind_try_result_)                                                            \
      co_return std::unexpected<::raind::Error>(std::move(raind_try_result_.error())); \
  } while (0)

#define RAIND_CO_TRY_ASSIGN(lhs, expr)                              \
  auto&& RAIND_CONCAT(raind_try_tmp_, __LINE__) = (expr);           \
  if (!RAIND_CONCAT(raind_try_tmp_, __LINE__))                      \
    co_return std::unexpected<::raind::Error>(                      \
        std::move(RAIND_CONCAT(raind_try_tmp_, __LINE__).error())); \
  lhs = std::move(*RAIND_CONCAT(raind_try_tmp_, __LINE__))

#include "raind/error.hpp"

#include <cerrno>
#include <cstring>

namespace raind {

std::string_view errc_name(Errc code) noexcept {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::not_found:
      return "not_found";
    case Errc::already_exists:
      return "already_exists";
    case Errc::conflict:
      return "conflict";
    case Errc::permission_denied:
      return "permission_denied";
    case Errc::unauthenticated:
      return "unauthenticated";
    case Errc::parse:
      return "parse";
    case Errc::integrity:
      return "integrity";
    case Errc::unsupported:
      return "unsupported";
    case Errc::timeout:
      return "timeout";
    case Errc::unavailable:
      return "unavailable";
    case Errc::system:
      return "system";
    case Errc::internal:
      return "internal";
  }
  return "unknown";
}

Error Error::from_errno(int err, std::string what) {
  Errc code = Errc::system;
  switch (err) {
    case ENOENT:
      code = Errc::not_found;
      break;
    case EEXIST:
      code = Errc::already_exists;
      break;
    case EPERM:
    case EACCES:
      code = Errc::permission_denied;
      break;
    case EINVAL:
      code = Errc::invalid_argument;
      break;
    case ETIMEDOUT:
      code = Errc::timeout;
      break;
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
      code = Errc::unavailable;
      break;
    case EBUSY:
      code = Errc::conflict;
      break;
    case ENOSYS:
    case EOPNOTSUPP:
      code = Errc::unsupported;
      break;
    default:
      break;
  }
  return Error(code, std::move(what), err);
}

std::string Error::what() const {
  std::string out;
  for (auto it = frames_.rbegin(); it != frames_.rend(); ++it) {
    out += *it;
    out += ": ";
  }
  out += message_;
  if (sys_errno_ != 0) {
    out += ": ";
    out += std::strerror(sys_errno_);
  }
  return out;
}

std::unexpected<Error> fail_errno(std::string what) {
  int err = errno;
  return std::unexpected<Error>(Error::from_errno(err, std::move(what)));
}

std::unexpected<Error> fail_errno(int err, std::string what) {
  return std::unexpected<Error>(Error::from_errno(err, std::move(what)));
}

Errc errc_from_http_status(unsigned status) noexcept {
  switch (status) {
    case 400:
    case 413:
    case 431:
      return Errc::invalid_argument;
    case 401:
      return Errc::unauthenticated;
    case 403:
      return Errc::permission_denied;
    case 404:
      return Errc::not_found;
    case 409:
      return Errc::conflict;
    case 408:
    case 504:
      return Errc::timeout;
    case 503:
      return Errc::unavailable;
    default:
      return Errc::internal;
  }
}

}  // namespace raind

#include "condenser/api/envelope.hpp"

namespace raind::condenser::api {

std::string_view listener_name(ListenerKind kind) {
  switch (kind) {
    case ListenerKind::management:
      return "management";
    case ListenerKind::hooks:
      return "hooks";
    case ListenerKind::ca:
      return "ca";
  }
  return "?";
}

std::string_view severity_name(Severity s) {
  switch (s) {
    case Severity::information:
      return "information";
    case Severity::low:
      return "low";
    case Severity::medium:
      return "medium";
    case Severity::high:
      return "high";
    case Severity::critical:
      return "critical";
  }
  return "?";
}

Severity raise(Severity s) {
  return s == Severity::critical ? s : static_cast<Severity>(static_cast<int>(s) + 1);
}

ApiResponse success(std::string message, nlohmann::json data, unsigned status) {
  nlohmann::json body{{"status", "success"}, {"message", message}};
  if (!data.is_null()) body["data"] = std::move(data);
  ApiResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.message = std::move(message);
  return r;
}

ApiResponse failure(unsigned status, std::string message) {
  nlohmann::json body{{"status", "fail"}, {"message", message}};
  ApiResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.message = std::move(message);
  return r;
}

unsigned status_for(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
    case Errc::parse:
      return 400;
    case Errc::unauthenticated:
      return 401;
    case Errc::permission_denied:
      return 403;
    case Errc::not_found:
      return 404;
    case Errc::already_exists:
    case Errc::conflict:
      return 409;
    case Errc::unavailable:
      return 503;
    case Errc::timeout:
      return 504;
    default:
      return 500;
  }
}

ApiResponse failure(const Error& error) {
  unsigned status = status_for(error.code());
  if (status >= 500) return failure(status, "service failed: " + error.what());
  return failure(status, error.what());
}

}  // namespace raind::condenser::api

#pragma once
// The {status,message,data} envelope (UPSTREAM §2.2) and the mapping of raind::Error codes to
// HTTP statuses, used by every JSON route.
#include <string>

#include <nlohmann/json.hpp>

#include "condenser/api/types.hpp"
#include "raind/error.hpp"

namespace raind::condenser::api {

ApiResponse success(std::string message, nlohmann::json data = nullptr, unsigned status = 200);
ApiResponse failure(unsigned status, std::string message);
unsigned status_for(Errc code);
// Errors become their status with the error text as the message; 500s hide internal detail
// behind a stable prefix but keep the cause (operators need it; the CLI shows it).
ApiResponse failure(const Error& error);

}  // namespace raind::condenser::api

#pragma once
// Debug/operational logging (spdlog) with named loggers such as "droplet.cgroups".
// Audit, flow, DNS and metrics records are data and go through JsonlWriter, not through here.
#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

namespace raind {

struct LogOptions {
  std::string level = "info";  // trace|debug|info|warn|error|off
  std::string file;            // empty: stderr
  bool json = false;           // one JSON object per line (runc --log-format json)
};

// Configures the sink shared by all named loggers. Call once from main(); safe to call again.
void setup_logging(const LogOptions& options);
// Returns (creating on first use) the logger with this name.
std::shared_ptr<spdlog::logger> logger(std::string_view name);

}  // namespace raind

#pragma once
// condenserd process lifecycle: config → dirs → PKI → store → audit → listeners → READY=1;
// SIGTERM/SIGINT drain with a deadline (STOPPING=1); SIGHUP reloads what is safe to reload.
#include <filesystem>

#include "condenser/config/config.hpp"
#include "raind/error.hpp"

namespace raind::condenser {

struct DaemonOptions {
  std::filesystem::path config_path;
  bool config_missing_ok = true;
  std::string log_level_override;
};

// Runs until a stop signal; returns the process exit code.
int run_daemon(const DaemonOptions& options);

}  // namespace raind::condenser

// condenserd: Raind's control-plane daemon.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "condenser/daemon/daemon.hpp"

int main(int argc, char** argv) {
  CLI::App app{"condenserd: Raind control-plane daemon"};
  std::string config_path(raind::condenser::kDefaultConfigPath);
  std::string log_level;
  bool version = false;
  auto* config_opt = app.add_option("-c,--config", config_path, "configuration file");
  app.add_option("--log-level", log_level, "override the configured log level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_flag("--version", version, "print the version and exit");
  CLI11_PARSE(app, argc, argv);
  if (version) {
    std::printf("condenserd %s\n", RAIND_VERSION);
    return 0;
  }
  raind::condenser::DaemonOptions options;
  options.config_path = config_path;
  // The default file may be absent (defaults apply); a file named explicitly must exist.
  options.config_missing_ok = config_opt->count() == 0;
  options.log_level_override = log_level;
  return raind::condenser::run_daemon(options);
}

// raind: Raind's operator CLI. Talks to condenserd over HTTPS with mutual TLS.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "raind-cli/commands/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"raind: operate the Raind container runtime"};
  app.set_version_flag("-v,--version", std::string("raind ") + RAIND_VERSION);
  app.require_subcommand(1);
  raind::cli::GlobalOptions global;
  app.add_option("--pki-dir", global.pki_dir,
                 "client certificate dir with cli.crt, cli.key, ca.crt (env RAIND_PKI_DIR; "
                 "default /etc/raind/pki)");
  app.add_option("--host", global.host,
                 "condenserd management API (env RAIND_HOST; default https://127.0.0.1:7755)");
  raind::cli::add_system_commands(app, global);
  raind::cli::add_pki_commands(app, global);
  raind::cli::add_image_commands(app, global);
  raind::cli::add_container_commands(app, global);
  raind::cli::add_network_commands(app, global);
  raind::cli::add_policy_commands(app, global);
  raind::cli::add_log_commands(app, global);
  raind::cli::add_bottle_commands(app, global);
  CLI11_PARSE(app, argc, argv);
  return global.exit_code;
}

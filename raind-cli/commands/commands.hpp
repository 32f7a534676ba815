#pragma once
// Command groups. Each add_* registers subcommands whose callbacks run through run_command(),
// which turns errors into "raind: <message>" on stderr and a non-zero exit code.
#include <CLI/CLI.hpp>

#include <functional>

#include "raind-cli/client/client.hpp"

namespace raind::cli {

struct GlobalOptions {
  std::string pki_dir;  // empty: RAIND_PKI_DIR or /etc/raind/pki
  std::string host;     // empty: RAIND_HOST or https://127.0.0.1:7755
  int exit_code = 0;
};

ClientOptions client_options(const GlobalOptions& g);
// Runs `fn` with a connected client; sets g.exit_code on failure.
void run_command(GlobalOptions& g, const std::function<Status(Client&)>& fn);

void add_system_commands(CLI::App& app, GlobalOptions& g);
void add_pki_commands(CLI::App& app, GlobalOptions& g);
void add_image_commands(CLI::App& app, GlobalOptions& g);
void add_container_commands(CLI::App& app, GlobalOptions& g);
void add_network_commands(CLI::App& app, GlobalOptions& g);
void add_policy_commands(CLI::App& app, GlobalOptions& g);
// `logs` and `container stats` (after add_container_commands).
void add_log_commands(CLI::App& app, GlobalOptions& g);
void add_bottle_commands(CLI::App& app, GlobalOptions& g);

// Pulls through the daemon, drawing progress on stderr (bars on a terminal, lines otherwise);
// returns the pulled image's JSON. `platform` empty: the daemon's.
Result<nlohmann::json> pull_image(Client& client, const std::string& reference,
                                  const std::string& platform, bool quiet);

// Percent-encodes everything but unreserved characters, for a path segment.
std::string url_escape(std::string_view text);

}  // namespace raind::cli

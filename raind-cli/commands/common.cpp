#include <cstdio>
#include <cstdlib>

#include "raind-cli/commands/commands.hpp"

namespace raind::cli {

ClientOptions client_options(const GlobalOptions& g) {
  ClientOptions o;
  if (!g.pki_dir.empty())
    o.pki_dir = g.pki_dir;
  else if (const char* env = std::getenv("RAIND_PKI_DIR"); env && *env)
    o.pki_dir = env;
  if (!g.host.empty())
    o.host = g.host;
  else if (const char* env = std::getenv("RAIND_HOST"); env && *env)
    o.host = env;
  return o;
}

void run_command(GlobalOptions& g, const std::function<Status(Client&)>& fn) {
  auto client = Client::create(client_options(g));
  Status status = client ? fn(*client) : Status(std::unexpected(client.error()));
  if (!status) {
    std::fprintf(stderr, "raind: %s\n", status.error().what().c_str());
    g.exit_code = 1;
  }
}

}  // namespace raind::cli

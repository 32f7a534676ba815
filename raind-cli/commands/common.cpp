#include <cctype>
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

std::string url_escape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

}  // namespace raind::cli

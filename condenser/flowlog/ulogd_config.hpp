#pragma once
// The ulogd2 configuration condenserd runs ulogd with (managed mode): one NFLOG stack per
// group, each ending in the JSON plugin writing newline-delimited records to condenserd's unix
// socket. Verified on this platform (PLATFORM.md §2); the details that matter are noted inline
// in the rendered text.
#include <filesystem>
#include <string>
#include <vector>

#include "raind/error.hpp"

namespace raind::condenser::flowlog {

struct UlogdConfigOptions {
  std::filesystem::path socket_path;  // condenserd listens here (ulogd is the client)
  std::filesystem::path logfile;      // ulogd's own log; "stdout" is accepted too
  int loglevel = 5;                   // 1 debug, 3 info, 5 notice, 7 error, 8 fatal
  std::filesystem::path plugin_dir = "/usr/lib/x86_64-linux-gnu/ulogd";
  std::vector<unsigned> groups = {10, 11, 12};  // EW (+ host guard), NS observe, NS enforce
};

// Fails (invalid_argument) on an empty socket path, no groups, a group above 65535, a
// duplicate group, or a path that cannot be written inside ulogd's quoted values.
Result<std::string> render_ulogd_config(const UlogdConfigOptions& options);

}  // namespace raind::condenser::flowlog

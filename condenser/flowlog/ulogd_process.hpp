#pragma once
// Starting ulogd2 as condenserd's child, in condenserd's own network namespace (NFLOG groups are
// per namespace). The pidfd lets the supervisor await the exit on the io_context.
#include <filesystem>

#include "raind/error.hpp"
#include "raind/sys/process.hpp"
#include "raind/unique_fd.hpp"

namespace raind::condenser::flowlog {

struct UlogdChild {
  sys::ChildProcess process;  // SIGKILLed and reaped if dropped
  UniqueFd pidfd;             // readable once the process has exited
};

// Runs `<binary> -c <config>` in the foreground with stdin on /dev/null and stdout/stderr
// appended to `console_log` (ulogd reports early failures there, before its logfile is open).
// No descriptor of ours crosses over, and signal dispositions are reset.
Result<UlogdChild> spawn_ulogd(const std::filesystem::path& binary,
                               const std::filesystem::path& config,
                               const std::filesystem::path& console_log);

}  // namespace raind::condenser::flowlog

#pragma once
// The per-container shim (`create --tty-shim`, annotation io.raind.tty=shim): a detached process
// that outlives droplet and its caller, owns the container's pty master (or its stdout/stderr
// pipe), serves the attach protocol (raind/attach_frame.hpp) on a unix socket, keeps a
// size-capped console log, reaps the container process and records its exit status.
#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <functional>

#include "raind/error.hpp"
#include "raind/unique_fd.hpp"

namespace raind::droplet {

struct ShimPaths {
  std::filesystem::path attach_socket;   // tty containers only
  std::filesystem::path console_log;     // tty: the terminal's output; else stdout+stderr
  std::filesystem::path exit_status;     // {"pid","exit_code","signal","exited_at"}
  std::size_t log_cap_bytes = 1u << 20;  // then rotated to <log>.1 (one old file kept)
};

struct ShimSetup {
  pid_t main_pid = -1;  // a child (or adopted descendant) of the shim
  UniqueFd pty_master;  // tty containers
  UniqueFd output;      // non-tty containers: read end of the stdout/stderr pipe
  UniqueFd listener;    // the attach socket, once listening
  ShimPaths paths;
};

// Double-forks the shim; the shim becomes a child subreaper, then runs `setup` (so whatever it
// spawns is reaped by the shim), starts listening and reports back. Returns the main pid here,
// or setup's error. `stdio_pipe_write`: when >= 0, the shim points its stdout/stderr at it while
// setup runs (a non-tty container inherits them), then at /dev/null.
Result<pid_t> launch_shim(std::function<Result<ShimSetup>()> setup, int stdio_pipe_write);

// The usual setup around launch_shim: `start(console_fd)` starts the process in the shim with a
// connected console socket (create or exec); a terminal process sends its pty master there,
// any other writes stdout/stderr into a pipe the shim logs. `paths(pid, tty)` names the files.
Result<pid_t> launch_process_shim(const std::function<Result<pid_t>(int console_fd)>& start,
                                  const std::function<ShimPaths(pid_t main_pid, bool tty)>& paths);

// The serving loop (runs in the shim): returns once the main process has exited and its output
// is drained, after writing the exit status.
Status serve_shim(ShimSetup& setup);

}  // namespace raind::droplet

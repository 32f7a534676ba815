#pragma once
// Runs a helper program (droplet, mostly) from a coroutine without blocking the io_context: the
// child's exit is awaited through a pidfd, and its stdout/stderr go to memfds read back after
// it exits. No pipes means no reader coroutines and no deadlock on a chatty child; a child that
// leaves descendants holding its stdio (droplet's shim does not, but a bug might) cannot stall us.
#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "raind/error.hpp"
#include "raind/sys/process.hpp"

namespace raind::condenser::system {

struct AsyncRunOptions {
  std::optional<std::string> stdin_data;  // else /dev/null
  std::vector<std::string> env;           // empty: inherit condenserd's environment
  std::chrono::milliseconds timeout{0};   // 0: none; on expiry SIGKILL, Errc::timeout
  std::size_t max_output = 16u << 20;     // per stream; the rest is dropped
};

// argv[0] must be an absolute path.
boost::asio::awaitable<Result<sys::RunResult>> run_async(std::vector<std::string> argv,
                                                         AsyncRunOptions options = {});

}  // namespace raind::condenser::system

#pragma once
// Child-process helpers: an owned child (killed and reaped on destruction unless released) and
// a simple run-and-capture used by tests and by effectful code that execs tools.
#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "raind/error.hpp"

namespace raind::sys {

struct ExitStatus {
  int code = -1;   // exit code when exited
  int signal = 0;  // terminating signal, 0 if exited normally
  bool exited() const { return signal == 0; }
  // Shell convention: 128+signal when killed.
  int shell_code() const { return signal ? 128 + signal : code; }
};

Result<ExitStatus> wait_pid(pid_t pid);

class ChildProcess {
 public:
  ChildProcess() = default;
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ChildProcess(ChildProcess&& other) noexcept : pid_(other.release()) {}
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();  // SIGKILL + reap if still owned

  pid_t pid() const { return pid_; }
  pid_t release() {
    pid_t p = pid_;
    pid_ = -1;
    return p;
  }
  Result<ExitStatus> wait();

 private:
  pid_t pid_ = -1;
};

struct RunResult {
  ExitStatus status;
  std::string out;  // captured stdout
  std::string err;  // captured stderr
};

struct RunOptions {
  std::optional<std::string> stdin_data;
  std::vector<std::string> env;                      // empty: inherit
  std::optional<std::chrono::milliseconds> timeout;  // SIGKILL on expiry
};

// Runs argv (argv[0] searched in PATH) to completion, capturing stdout/stderr.
Result<RunResult> run(const std::vector<std::string>& argv, const RunOptions& options = {});

}  // namespace raind::sys

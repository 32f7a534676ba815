#pragma once
// The flow-log pipeline of condenserd: ulogd2's NFLOG records in, enriched netflow records out
// (<log_dir>/raind_netflow.jsonl). Three ways in:
//   managed  condenserd listens on a unix socket, writes ulogd.conf and runs ulogd2 as a
//            supervised child (restarted with backoff, killed and reaped on stop);
//   listen   the same socket, but ulogd2 is run by someone else with a matching config;
//   file     an externally written ulogd JSON file is tailed (rotation and truncation aware).
// Everything runs on the daemon's io_context; the counters may be read from any thread.
#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>

#include "condenser/flowlog/timestamp.hpp"
#include "condenser/flowlog/ulogd_config.hpp"
#include "condenser/identity/identity.hpp"
#include "raind/error.hpp"
#include "raind/jsonl_writer.hpp"

namespace raind::condenser::flowlog {

enum class SourceMode { managed, listen, file };

struct PipelineOptions {
  SourceMode mode = SourceMode::managed;
  // managed/listen: ulogd.sock (0600) lives here; managed also writes ulogd.conf,
  // ulogd.log (ulogd's logfile) and ulogd.console (its stdout/stderr). Created 0700 if absent.
  std::filesystem::path run_dir;
  std::filesystem::path log_dir;    // raind_netflow.jsonl goes here (created if absent)
  std::filesystem::path tail_path;  // file mode: the ulogd JSON file to follow
  RotationPolicy rotation;          // of raind_netflow.jsonl: 50 MiB x 5 by default

  // managed mode
  std::filesystem::path ulogd_binary = "/usr/sbin/ulogd";
  std::filesystem::path ulogd_plugin_dir = "/usr/lib/x86_64-linux-gnu/ulogd";
  std::vector<unsigned> groups = {10, 11, 12};
  int ulogd_loglevel = 5;
  std::chrono::milliseconds restart_backoff_initial{250};
  std::chrono::milliseconds restart_backoff_max{30000};
  // A ulogd that ran at least this long before exiting restarts after the initial backoff.
  std::chrono::milliseconds stable_after{10000};
  std::chrono::milliseconds stop_grace{1000};  // SIGTERM → SIGKILL on stop

  std::size_t max_line = 64 * 1024;  // longer records are counted as oversized and skipped
  std::size_t max_connections = 16;  // ulogd opens one per stack; extra clients are refused
  std::chrono::milliseconds poll_interval{500};  // file mode
  Zone zone = Zone::local();
};

// `managed`, `listen` or `file:<absolute path>` (e.g. file:/var/log/ulog/raind.jsonl).
Status apply_source_spec(std::string_view spec, PipelineOptions& options);

struct Counters {
  std::uint64_t received = 0;   // non-empty records seen (= written+malformed+oversized+dropped)
  std::uint64_t written = 0;    // enriched records written
  std::uint64_t malformed = 0;  // not JSON, not an object, or lacking prefix/time
  std::uint64_t oversized = 0;  // longer than max_line, skipped
  std::uint64_t unknown_prefix = 0;  // written, but the prefix was off-grammar (kind "unknown")
  std::uint64_t dropped = 0;         // enriched but not written (output write failed)
  std::uint64_t ulogd_starts = 0;    // managed: ulogd processes started
  std::uint64_t ulogd_restarts = 0;  // managed: starts after an unexpected exit
  std::uint64_t connections = 0;     // socket connections accepted
  std::uint64_t connections_refused = 0;  // over max_connections
  std::uint64_t connections_open = 0;     // gauge
  std::uint64_t file_reopens = 0;         // file mode: rotations and truncations followed
};

class Pipeline {
 public:
  // Opens the output, then (socket modes) creates and listens on the socket *before* ulogd is
  // started, since ulogd exits when it cannot connect. `directory` must outlive the Pipeline.
  // Call from the io_context's thread (or before it runs).
  static Result<std::unique_ptr<Pipeline>> start(boost::asio::any_io_executor executor,
                                                 const identity::Directory& directory,
                                                 PipelineOptions options);
  ~Pipeline();  // stop()
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Closes the socket and connections, stops the tail, terminates ulogd (SIGTERM, then SIGKILL
  // after stop_grace) and reaps it. Idempotent. Call on the io_context's thread, or after it
  // stopped. Records already read are written before it returns; nothing is written after.
  void stop();

  Counters counters() const;
  // managed: the running ulogd's pid, or -1 between restarts / after stop.
  pid_t ulogd_pid() const;
  std::filesystem::path socket_path() const;
  std::filesystem::path output_path() const;

  struct State;

 private:
  explicit Pipeline(std::shared_ptr<State> state) : state_(std::move(state)) {}
  std::shared_ptr<State> state_;
};

}  // namespace raind::condenser::flowlog

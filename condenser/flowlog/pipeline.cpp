#include "condenser/flowlog/pipeline.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include "condenser/flowlog/enrich.hpp"
#include "condenser/flowlog/line_splitter.hpp"
#include "condenser/flowlog/ulogd_process.hpp"
#include "raind/log.hpp"

namespace raind::condenser::flowlog {
namespace asio = boost::asio;
namespace fs = std::filesystem;
using unix_socket = asio::local::stream_protocol::socket;
using unix_acceptor = asio::local::stream_protocol::acceptor;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::seconds kLogInterval{60};
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kTailBudget = 8u << 20;  // bytes per poll tick before yielding

struct AtomicCounters {
  std::atomic<std::uint64_t> received{0}, written{0}, malformed{0}, oversized{0}, unknown_prefix{0},
      dropped{0}, ulogd_starts{0}, ulogd_restarts{0}, connections{0}, connections_refused{0},
      connections_open{0}, file_reopens{0};
};

struct Throttle {
  Clock::time_point last{};
  std::uint64_t suppressed = 0;
};

std::string describe_exit(const Result<sys::ExitStatus>& status) {
  if (!status) return status.error().what();
  if (!status->exited()) return fmt::format("killed by signal {}", status->signal);
  return fmt::format("exited with code {}", status->code);
}

}  // namespace

struct Pipeline::State {
  State(asio::any_io_executor ex, const identity::Directory& dir, PipelineOptions opts)
      : executor(std::move(ex)),
        directory(dir),
        options(std::move(opts)),
        log(logger("condenser.flowlog")),
        backoff_timer(executor),
        poll_timer(executor) {}

  asio::any_io_executor executor;
  const identity::Directory& directory;
  PipelineOptions options;
  std::shared_ptr<spdlog::logger> log;
  std::unique_ptr<JsonlWriter> writer;
  fs::path socket_path, config_path, output_path;

  std::optional<unix_acceptor> acceptor;
  std::map<std::uint64_t, unix_socket*> sockets;  // open connections, for stop()
  std::uint64_t next_socket_id = 0;

  std::optional<UlogdChild> child;
  std::optional<asio::posix::stream_descriptor> pidfd_watch;
  std::atomic<pid_t> pid{-1};
  asio::steady_timer backoff_timer;
  asio::steady_timer poll_timer;

  std::atomic<bool> stopped{false};
  AtomicCounters counters;
  std::map<std::string, Throttle, std::less<>> throttles;
  std::string scratch;

  // Logs the first occurrence of a kind of bad input, then at most once a minute with a count.
  void note(std::string_view kind, std::string_view detail) {
    auto it = throttles.find(kind);
    if (it == throttles.end()) it = throttles.emplace(std::string(kind), Throttle{}).first;
    auto now = Clock::now();
    Throttle& t = it->second;
    if (t.last != Clock::time_point{} && now - t.last < kLogInterval) {
      ++t.suppressed;
      return;
    }
    log->warn("flowlog: {} ({}); {} more since the last report", kind, detail, t.suppressed);
    t.last = now;
    t.suppressed = 0;
  }

  void handle_line(std::string_view line, const identity::Snapshot& snapshot,
                   std::chrono::system_clock::time_point now) {
    bool blank = std::all_of(line.begin(), line.end(),
                             [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
    if (blank) return;
    counters.received.fetch_add(1, std::memory_order_relaxed);
    scratch.clear();
    EnrichOptions enrich_options{options.max_line};
    auto result = enrich_into(scratch, line, snapshot, now, options.zone, enrich_options);
    if (!result) {
      if (result.error() == Rejection::oversized) {
        on_oversized();
      } else {
        counters.malformed.fetch_add(1, std::memory_order_relaxed);
        note(to_string(result.error()), fmt::format("{} bytes", line.size()));
      }
      return;
    }
    if (!result->prefix_well_formed) {
      counters.unknown_prefix.fetch_add(1, std::memory_order_relaxed);
      note("unknown_prefix", "kind/verdict unknown");
    }
    if (auto w = writer->write_line(scratch); !w) {
      counters.dropped.fetch_add(1, std::memory_order_relaxed);
      note("dropped", w.error().what());
      return;
    }
    counters.written.fetch_add(1, std::memory_order_relaxed);
  }

  void on_oversized() {
    counters.received.fetch_add(1, std::memory_order_relaxed);
    counters.oversized.fetch_add(1, std::memory_order_relaxed);
    note("oversized", fmt::format("over {} bytes", options.max_line));
  }

  void feed(LineSplitter& splitter, std::string_view data) {
    auto snapshot = directory.current();
    auto now = std::chrono::system_clock::now();
    splitter.feed(
        data, [&](std::string_view line) { handle_line(line, *snapshot, now); },
        [&] { on_oversized(); });
  }
};

namespace {

using State = Pipeline::State;

asio::awaitable<void> read_connection(std::shared_ptr<State> s, unix_socket socket) {
  std::uint64_t id = s->next_socket_id++;
  s->sockets.emplace(id, &socket);
  s->counters.connections_open.fetch_add(1);
  LineSplitter splitter(s->options.max_line);
  std::vector<char> buffer(kReadChunk);
  for (;;) {
    boost::system::error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    auto view = asio::buffer(buffer);
    std::size_t n = co_await socket.async_read_some(view, token);
    if (s->stopped) break;  // stop() closed the socket; our entry is gone
    if (n > 0) s->feed(splitter, std::string_view(buffer.data(), n));
    if (ec) {
      if (ec != asio::error::eof && ec != asio::error::operation_aborted)
        s->log->warn("flowlog: connection {}: {}", id, ec.message());
      // A partial line at EOF is a record ulogd never finished: count it as malformed.
      if (splitter.pending() > 0) {
        s->counters.received.fetch_add(1);
        s->counters.malformed.fetch_add(1);
        s->note("truncated", "connection closed inside a record");
      }
      break;
    }
  }
  if (!s->stopped) s->sockets.erase(id);
  s->counters.connections_open.fetch_sub(1);
}

asio::awaitable<void> accept_loop(std::shared_ptr<State> s) {
  for (;;) {
    boost::system::error_code ec;
    unix_socket socket(s->executor);
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    co_await s->acceptor->async_accept(socket, token);
    if (s->stopped) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      // EMFILE and friends: back off instead of spinning.
      s->log->warn("flowlog: accept on {}: {}", s->socket_path.string(), ec.message());
      asio::steady_timer pause(s->executor, std::chrono::milliseconds(100));
      auto wait_token = asio::redirect_error(asio::use_awaitable, ec);
      co_await pause.async_wait(wait_token);
      continue;
    }
    if (s->sockets.size() >= s->options.max_connections) {
      s->counters.connections_refused.fetch_add(1);
      s->note("refused_connection", fmt::format("{} open", s->sockets.size()));
      socket.close(ec);
      continue;
    }
    s->counters.connections.fetch_add(1);
    asio::co_spawn(s->executor, read_connection(s, std::move(socket)), asio::detached);
  }
}

asio::awaitable<void> supervise_ulogd(std::shared_ptr<State> s) {
  const PipelineOptions& o = s->options;
  auto delay = o.restart_backoff_initial;
  bool restarting = false;
  while (!s->stopped) {
    fs::path console = o.run_dir / "ulogd.console";
    auto spawned = spawn_ulogd(o.ulogd_binary, s->config_path, console);
    if (!spawned) {
      s->log->error("flowlog: cannot start ulogd: {}", spawned.error().what());
    } else {
      s->counters.ulogd_starts.fetch_add(1);
      if (restarting) s->counters.ulogd_restarts.fetch_add(1);
      pid_t pid = spawned->process.pid();
      s->log->info("flowlog: ulogd started (pid {})", pid);
      auto started = Clock::now();
      int pidfd = spawned->pidfd.release();
      s->child.emplace(std::move(*spawned));
      s->pidfd_watch.emplace(s->executor, pidfd);
      s->pid = pid;
      boost::system::error_code ec;
      auto token = asio::redirect_error(asio::use_awaitable, ec);
      co_await s->pidfd_watch->async_wait(asio::posix::descriptor_base::wait_read, token);
      if (s->stopped) co_return;  // stop() terminated and reaped it
      auto status = s->child->process.wait();
      s->pid = -1;
      s->child.reset();
      s->pidfd_watch.reset();
      auto ran = Clock::now() - started;
      if (ran >= o.stable_after) delay = o.restart_backoff_initial;
      s->log->warn("flowlog: ulogd (pid {}) {} after {} ms; restarting in {} ms (see {})", pid,
                   describe_exit(status),
                   std::chrono::duration_cast<std::chrono::milliseconds>(ran).count(),
                   delay.count(), console.string());
    }
    restarting = true;
    boost::system::error_code ec;
    s->backoff_timer.expires_after(delay);
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    co_await s->backoff_timer.async_wait(token);
    if (s->stopped) co_return;
    delay = std::min(delay * 2, o.restart_backoff_max);
  }
}

// Follows the file like `tail -F`: starts at EOF if the file exists at start (older records
// were handled by whoever ran before), reads a file that appears later — or replaces it after a
// rotation — from its beginning, and starts over when the file shrinks below the offset.
asio::awaitable<void> tail_file(std::shared_ptr<State> s) {
  const fs::path& path = s->options.tail_path;
  LineSplitter splitter(s->options.max_line);
  std::vector<char> buffer(kReadChunk);
  UniqueFd fd;
  struct stat opened {};
  off_t offset = 0;
  bool at_start = true;
  bool warned_missing = false;

  // Reads what is there (up to the budget); false when the budget ran out.
  auto drain = [&]() -> bool {
    std::size_t budget = kTailBudget;
    while (budget > 0) {
      ssize_t n = ::pread(fd.get(), buffer.data(), buffer.size(), offset);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        s->note("tail_read_error", std::strerror(errno));
        return true;
      }
      if (n == 0) return true;
      offset += n;
      budget -= std::min(budget, static_cast<std::size_t>(n));
      s->feed(splitter, std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      if (s->stopped) return true;
    }
    return false;
  };

  while (!s->stopped) {
    bool more = false;
    if (!fd) {
      fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd) {
        ::fstat(fd.get(), &opened);
        offset = at_start ? opened.st_size : 0;
        splitter.reset();
        if (!at_start) s->counters.file_reopens.fetch_add(1);
        s->log->info("flowlog: following {} from offset {}", path.string(), offset);
        warned_missing = false;
      } else if (!warned_missing) {
        s->log->warn("flowlog: waiting for {}: {}", path.string(), std::strerror(errno));
        warned_missing = true;
      }
      at_start = false;
    }
    if (fd) {
      struct stat now {};
      if (::fstat(fd.get(), &now) == 0 && now.st_size < offset) {
        s->log->info("flowlog: {} truncated ({} < {}); reading from the start", path.string(),
                     now.st_size, offset);
        s->counters.file_reopens.fetch_add(1);
        offset = 0;
        splitter.reset();
      }
      more = !drain();
      struct stat named {};
      bool replaced = ::stat(path.c_str(), &named) != 0 || named.st_ino != opened.st_ino ||
                      named.st_dev != opened.st_dev;
      if (replaced && !more && !s->stopped) {
        drain();  // the last lines written before the rename
        s->log->info("flowlog: {} rotated; reopening", path.string());
        fd.reset();
        more = true;  // open the new file right away
      }
    }
    if (s->stopped) co_return;
    boost::system::error_code ec;
    s->poll_timer.expires_after(more ? std::chrono::milliseconds(0) : s->options.poll_interval);
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    co_await s->poll_timer.async_wait(token);
  }
}

Status make_dir(const fs::path& dir, fs::perms perms) {
  std::error_code ec;
  if (fs::exists(dir, ec)) return ok();
  fs::create_directories(dir, ec);
  if (ec) return failf(Errc::system, "create {}: {}", dir.string(), ec.message());
  fs::permissions(dir, perms, ec);
  return ok();
}

Status write_file(const fs::path& path, std::string_view text, mode_t mode) {
  fs::path tmp = path.string() + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return fail_errno(fmt::format("open {}", tmp.string()));
  for (std::size_t done = 0; done < text.size();) {
    ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(fmt::format("write {}", tmp.string()));
    done += static_cast<std::size_t>(n);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return fail_errno(fmt::format("rename {}", path.string()));
  return ok();
}

// Binds and listens with mode 0600. chmod happens between bind() and listen(): nobody can
// connect before listen(), so there is no window with looser permissions.
Status listen_socket(State& s) {
  const fs::path& path = s.socket_path;
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return failf(Errc::already_exists, "{} exists and is not a socket", path.string());
    ::unlink(path.c_str());  // stale, from a previous run
  }
  boost::system::error_code ec;
  s.acceptor.emplace(s.executor);
  asio::local::stream_protocol::endpoint endpoint(path.string());
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (ec) return failf(Errc::system, "bind {}: {}", path.string(), ec.message());
  if (::chmod(path.c_str(), 0600) != 0) return fail_errno(fmt::format("chmod {}", path.string()));
  s.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return failf(Errc::system, "listen {}: {}", path.string(), ec.message());
  return ok();
}

}  // namespace

Status apply_source_spec(std::string_view spec, PipelineOptions& options) {
  if (spec == "managed") {
    options.mode = SourceMode::managed;
  } else if (spec == "listen") {
    options.mode = SourceMode::listen;
  } else if (spec.starts_with("file:") && spec.size() > 6 && spec[5] == '/') {
    options.mode = SourceMode::file;
    options.tail_path = std::string(spec.substr(5));
  } else {
    return failf(Errc::invalid_argument,
                 "flow log source '{}': expected managed, listen or file:<absolute path>", spec);
  }
  return ok();
}

Result<std::unique_ptr<Pipeline>> Pipeline::start(asio::any_io_executor executor,
                                                  const identity::Directory& directory,
                                                  PipelineOptions options) {
  if (options.log_dir.empty()) return fail(Errc::invalid_argument, "flowlog: no log_dir");
  if (options.max_line == 0) return fail(Errc::invalid_argument, "flowlog: max_line is 0");
  bool socket_mode = options.mode != SourceMode::file;
  if (socket_mode && options.run_dir.empty())
    return fail(Errc::invalid_argument, "flowlog: no run_dir");
  if (!socket_mode && !options.tail_path.is_absolute())
    return fail(Errc::invalid_argument, "flowlog: file mode needs an absolute path");
  if (options.mode == SourceMode::managed && ::access(options.ulogd_binary.c_str(), X_OK) != 0)
    return fail_errno(fmt::format("flowlog: ulogd binary {}", options.ulogd_binary.string()));

  auto s = std::make_shared<State>(executor, directory, std::move(options));
  const PipelineOptions& o = s->options;
  RAIND_TRY(
      make_dir(o.log_dir, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec));
  s->output_path = o.log_dir / "raind_netflow.jsonl";
  RAIND_TRY_ASSIGN(s->writer, JsonlWriter::open(s->output_path, o.rotation, 0640));

  if (socket_mode) {
    RAIND_TRY(make_dir(o.run_dir, fs::perms::owner_all));
    s->socket_path = o.run_dir / "ulogd.sock";
    RAIND_TRY(listen_socket(*s));
  }
  if (o.mode == SourceMode::managed) {
    UlogdConfigOptions config;
    config.socket_path = s->socket_path;
    config.logfile = o.run_dir / "ulogd.log";
    config.loglevel = o.ulogd_loglevel;
    config.plugin_dir = o.ulogd_plugin_dir;
    config.groups = o.groups;
    RAIND_TRY_ASSIGN(std::string text, render_ulogd_config(config));
    s->config_path = o.run_dir / "ulogd.conf";
    RAIND_TRY(write_file(s->config_path, text, 0600));
  }

  std::unique_ptr<Pipeline> pipeline(new Pipeline(s));
  if (socket_mode) asio::co_spawn(s->executor, accept_loop(s), asio::detached);
  if (o.mode == SourceMode::managed)
    asio::co_spawn(s->executor, supervise_ulogd(s), asio::detached);
  if (o.mode == SourceMode::file) asio::co_spawn(s->executor, tail_file(s), asio::detached);
  s->log->info("flowlog: started ({}), writing {}",
               o.mode == SourceMode::file ? "file " + o.tail_path.string()
                                          : "socket " + s->socket_path.string(),
               s->output_path.string());
  return pipeline;
}

Pipeline::~Pipeline() {
  stop();
}

void Pipeline::stop() {
  State& s = *state_;
  if (s.stopped.exchange(true)) return;
  boost::system::error_code ec;
  if (s.acceptor) s.acceptor->close(ec);
  for (auto& [id, socket] : s.sockets) socket->close(ec);
  s.sockets.clear();
  s.backoff_timer.cancel();
  s.poll_timer.cancel();
  if (s.pidfd_watch) s.pidfd_watch->cancel(ec);
  if (s.child) {
    // ulogd unbinds its groups on SIGTERM; SIGKILL only if it does not go in time.
    pid_t pid = s.child->process.pid();
    ::kill(pid, SIGTERM);
    auto deadline = Clock::now() + s.options.stop_grace;
    bool reaped = false;
    while (Clock::now() < deadline) {
      int status = 0;
      pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid || (r < 0 && errno == ECHILD)) {
        reaped = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (reaped) s.child->process.release();
    s.child.reset();  // SIGKILL + reap when still running
    s.pid = -1;
  }
  if (!s.socket_path.empty()) ::unlink(s.socket_path.c_str());
  s.log->info("flowlog: stopped ({} written, {} malformed, {} oversized)",
              s.counters.written.load(), s.counters.malformed.load(), s.counters.oversized.load());
}

Counters Pipeline::counters() const {
  const AtomicCounters& c = state_->counters;
  Counters out;
  out.received = c.received.load();
  out.written = c.written.load();
  out.malformed = c.malformed.load();
  out.oversized = c.oversized.load();
  out.unknown_prefix = c.unknown_prefix.load();
  out.dropped = c.dropped.load();
  out.ulogd_starts = c.ulogd_starts.load();
  out.ulogd_restarts = c.ulogd_restarts.load();
  out.connections = c.connections.load();
  out.connections_refused = c.connections_refused.load();
  out.connections_open = c.connections_open.load();
  out.file_reopens = c.file_reopens.load();
  return out;
}

pid_t Pipeline::ulogd_pid() const {
  return state_->pid.load();
}

std::filesystem::path Pipeline::socket_path() const {
  return state_->socket_path;
}

std::filesystem::path Pipeline::output_path() const {
  return state_->output_path;
}

}  // namespace raind::condenser::flowlog

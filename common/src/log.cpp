#include "raind/log.hpp"

#include <time.h>

#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace raind {
namespace {

struct LoggingState {
  std::mutex mutex;
  spdlog::sink_ptr sink;
  spdlog::level::level_enum level = spdlog::level::info;
};

LoggingState& logging_state() {
  static LoggingState s;
  return s;
}

spdlog::sink_ptr default_sink() {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  sink->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %^%l%$ [%n] %v");
  return sink;
}

// Quotes and escapes a string the way JSON does; invalid UTF-8 becomes U+FFFD so every line
// stays parseable whatever a message contains.
std::string json_quote(std::string_view text) {
  return nlohmann::json(std::string(text))
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// RFC 3339 local time with microseconds, e.g. 2026-11-22T13:16:01.123456+00:00.
std::string rfc3339(spdlog::log_clock::time_point tp) {
  using namespace std::chrono;
  auto since = tp.time_since_epoch();
  time_t secs = static_cast<time_t>(duration_cast<seconds>(since).count());
  auto micros = duration_cast<microseconds>(since).count() % 1000000;
  tm local{};
  localtime_r(&secs, &local);
  long off = local.tm_gmtoff / 60;
  char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}{}{:02}:{:02}", local.tm_year + 1900,
                     local.tm_mon + 1, local.tm_mday, local.tm_hour, local.tm_min, local.tm_sec,
                     micros, sign, off / 60, off % 60);
}

// One record per line. Text: time="…" level=… logger=… msg="…" (logfmt, like runc's default).
// JSON: {"level":"…","msg":"<logger>: …","time":"…"} (runc --log-format json, which podman and
// containerd parse). Messages are escaped, so a quote or newline cannot break a line.
class LineFormatter final : public spdlog::formatter {
 public:
  explicit LineFormatter(bool json) : json_(json) {}
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string_view level(spdlog::level::to_string_view(msg.level).data(),
                           spdlog::level::to_string_view(msg.level).size());
    std::string_view name(msg.logger_name.data(), msg.logger_name.size());
    std::string_view text(msg.payload.data(), msg.payload.size());
    std::string line;
    if (json_) {
      line = fmt::format(R"({{"level":"{}","msg":{},"time":"{}"}})", level,
                         json_quote(fmt::format("{}: {}", name, text)), rfc3339(msg.time));
    } else {
      line = fmt::format("time=\"{}\" level={} logger={} msg={}", rfc3339(msg.time), level, name,
                         json_quote(text));
    }
    line.push_back('\n');
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<LineFormatter>(json_);
  }

 private:
  bool json_;
};

spdlog::level::level_enum parse_level(const std::string& name) {
  // spdlog maps unknown names to "off"; a typo must not silence logging.
  auto level = spdlog::level::from_str(name);
  if (level == spdlog::level::off && name != "off") return spdlog::level::info;
  return level;
}

}  // namespace

void setup_logging(const LogOptions& options) {
  auto& s = logging_state();
  std::lock_guard lock(s.mutex);
  spdlog::sink_ptr sink;
  if (options.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    try {
      sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(options.file, false);
    } catch (const spdlog::spdlog_ex&) {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    }
  }
  sink->set_formatter(std::make_unique<LineFormatter>(options.json));
  s.sink = sink;
  s.level = parse_level(options.level);
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) {
    l->sinks().assign(1, sink);
    l->set_level(s.level);
  });
}

std::shared_ptr<spdlog::logger> logger(std::string_view name) {
  auto& s = logging_state();
  std::lock_guard lock(s.mutex);
  std::string key(name);
  if (auto existing = spdlog::get(key)) return existing;
  if (!s.sink) s.sink = default_sink();
  auto created = std::make_shared<spdlog::logger>(key, s.sink);
  created->set_level(s.level);
  created->flush_on(spdlog::level::warn);
  spdlog::register_logger(created);
  return created;
}

}  // namespace raind

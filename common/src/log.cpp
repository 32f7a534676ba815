#include "raind/log.hpp"

#include <mutex>

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
  if (options.json) {
    // runc's --log-format json shape: {"level":"…","msg":"…","time":"…"}. Messages are escaped
    // by the callers that need it; logger names go into the message prefix.
    sink->set_pattern(R"({"level":"%l","msg":"%n: %v","time":"%Y-%m-%dT%H:%M:%S.%f%z"})");
  } else {
    sink->set_pattern("time=\"%Y-%m-%dT%H:%M:%S.%e%z\" level=%l logger=%n msg=\"%v\"");
  }
  s.sink = sink;
  s.level = spdlog::level::from_str(options.level);
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

#pragma once
// droplet's audit log (--audit-log): one JSON line per lifecycle step and hook, saying which
// container, which config (its SHA-256), which isolation it asked for and how the step ended.
// Records are data, written through a rotating JSONL writer opened O_APPEND|O_NOFOLLOW, 0640.
#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "raind/error.hpp"
#include "raind/oci/runtime_spec.hpp"

namespace raind::droplet::audit {

inline constexpr std::string_view kLogVersion = "0.1.0";
inline constexpr std::size_t kMaxRecordBytes = 64 * 1024;

// What a record is about. Filled by the runtime as an operation learns more.
struct Subject {
  std::string container_id;
  std::string bundle;
  std::string state_path;
  std::string config_sha256;
  std::shared_ptr<const oci::Spec> spec;  // namespaces, capabilities, seccomp, LSM
  std::optional<pid_t> pid;
};

// Pure: the record for `event` (create, start, kill, delete, init, exec, hook) with result
// success, or fail plus error {stage, errno?, message}.
nlohmann::json make_record(std::string_view event, const Subject& subject, const Status& result,
                           std::string_view stage = {});

// The process-wide log; a no-op until opened (droplet runs one operation per process).
Status open_log(const std::filesystem::path& path);
bool enabled();
// Writes one record; a record over 64 KiB is refused (logged as a warning, never fatal).
void write(const nlohmann::json& record);

// Hook records are written by the hook runner, which knows nothing of containers: the runtime
// sets the subject for the duration of an operation.
void set_current_subject(const Subject* subject);
void hook_record(std::string_view phase, const oci::Hook& hook, std::string_view stdin_text,
                 int exit_code, long duration_ms, std::string_view stderr_tail,
                 const Status& result);

}  // namespace raind::droplet::audit

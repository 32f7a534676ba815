#include "raind/droplet/audit.hpp"

#include <cerrno>
#include <chrono>
#include <memory>

#include <fmt/format.h>

#include "raind/digest.hpp"
#include "raind/jsonl_writer.hpp"
#include "raind/log.hpp"

namespace raind::droplet::audit {
namespace {

std::unique_ptr<JsonlWriter> g_log;
const Subject* g_subject = nullptr;

std::string now_rfc3339_ms() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

bool has_namespace(const oci::Spec* spec, std::string_view type) {
  if (!spec || !spec->linux_) return false;
  for (const auto& ns : spec->linux_->namespaces)
    if (ns.type == type) return true;
  return false;
}

}  // namespace

nlohmann::json make_record(std::string_view event, const Subject& s, const Status& result,
                           std::string_view stage) {
  const oci::Spec* spec = s.spec.get();
  nlohmann::json r = {{"ts", now_rfc3339_ms()},
                      {"log_version", kLogVersion},
                      {"event", event},
                      {"runtime", "droplet"},
                      {"runtime_version", RAIND_VERSION},
                      {"container_id", s.container_id},
                      {"bundle", s.bundle},
                      {"config_path", s.bundle.empty() ? "" : s.bundle + "/config.json"},
                      {"state_path", s.state_path}};
  nlohmann::json oci = {{"config_sha256", s.config_sha256}};
  if (spec && spec->process && !spec->process->args.empty())
    oci["process_arg0"] = spec->process->args.front();
  else
    oci["process_arg0"] = "";
  if (spec && spec->linux_ && spec->linux_->seccomp && spec->raw.contains("linux") &&
      spec->raw["linux"].contains("seccomp"))
    oci["seccomp_sha256"] = sha256_hex(spec->raw["linux"]["seccomp"].dump());
  r["oci"] = std::move(oci);
  if (s.pid) r["pid"] = *s.pid;
  r["namespaces"] = {
      {"mount", has_namespace(spec, "mount")},  {"network", has_namespace(spec, "network")},
      {"uts", has_namespace(spec, "uts")},      {"pid", has_namespace(spec, "pid")},
      {"ipc", has_namespace(spec, "ipc")},      {"user", has_namespace(spec, "user")},
      {"cgroup", has_namespace(spec, "cgroup")}};
  oci::Capabilities caps;
  if (spec && spec->process && spec->process->capabilities) caps = *spec->process->capabilities;
  r["capabilities"] = {{"bounding", caps.bounding},
                       {"effective", caps.effective},
                       {"permitted", caps.permitted},
                       {"inheritable", caps.inheritable},
                       {"ambient", caps.ambient}};
  std::string default_action;
  if (spec && spec->linux_ && spec->linux_->seccomp)
    default_action = spec->linux_->seccomp->default_action;
  r["seccomp"] = {{"default_action", default_action}};
  r["lsm"] = {
      {"apparmor", {{"profile", spec && spec->process ? spec->process->apparmor_profile : ""}}}};
  r["result"] = result ? "success" : "fail";
  if (!result) {
    nlohmann::json err = {{"stage", stage.empty() ? std::string_view("unknown") : stage},
                          {"message", result.error().what()}};
    if (int e = result.error().sys_errno()) err["errno"] = e;
    r["error"] = std::move(err);
  }
  return r;
}

Status open_log(const std::filesystem::path& path) {
  auto w = JsonlWriter::open(path, RotationPolicy{16ull * 1024 * 1024, 5}, 0640);
  if (!w) {
    if (errno == ELOOP || w.error().sys_errno() == ELOOP)
      return failf(Errc::permission_denied, "audit log {} is a symbolic link: refused",
                   path.string());
    return std::unexpected(std::move(w.error()).context("audit log"));
  }
  g_log = std::move(*w);
  return ok();
}

bool enabled() {
  return g_log != nullptr;
}

void write(const nlohmann::json& record) {
  if (!g_log) return;
  auto line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (line.size() > kMaxRecordBytes) {
    logger("droplet.audit")
        ->warn("audit record of {} bytes refused (limit {})", line.size(), kMaxRecordBytes);
    return;
  }
  auto st = g_log->write_line(line);
  if (!st) logger("droplet.audit")->warn("write audit log: {}", st.error().what());
}

void set_current_subject(const Subject* subject) {
  g_subject = subject;
}

void hook_record(std::string_view phase, const oci::Hook& hook, std::string_view stdin_text,
                 int exit_code, long duration_ms, std::string_view stderr_tail,
                 const Status& result) {
  if (!g_log) return;
  Subject empty;
  auto r =
      make_record("hook", g_subject ? *g_subject : empty, result, fmt::format("hook_{}", phase));
  std::string joined;
  for (std::size_t i = 0; i < hook.args.size(); ++i) {
    if (i) joined += ',';
    joined += hook.args[i];
  }
  r["hook"] = {{"phase", phase},
               {"path", hook.path},
               {"args_sha256", sha256_hex(joined)},
               {"stdin_sha256", sha256_hex(stdin_text)},
               {"stdin_bytes", stdin_text.size()},
               {"exit_code", exit_code},
               {"duration_ms", duration_ms},
               {"stderr_tail", stderr_tail}};
  write(r);
}

}  // namespace raind::droplet::audit

// condenserd: Raind's control-plane daemon. `condenserd hook --event <phase>` is the OCI hook
// client droplet runs (listed in each container's config.json by condenserd itself).
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "condenser/daemon/daemon.hpp"
#include "condenser/hookclient/hook_client.hpp"

namespace {

// The OCI state is small; refuse anything past this rather than buffer without bound.
constexpr std::size_t kMaxHookStdin = 1024 * 1024;

raind::Result<std::string> read_stdin_limited() {
  std::string text;
  char buf[8192];
  while (true) {
    const std::size_t n = std::fread(buf, 1, sizeof buf, stdin);
    text.append(buf, n);
    if (text.size() > kMaxHookStdin)
      return raind::failf(raind::Errc::invalid_argument, "state on stdin exceeds {} bytes",
                          kMaxHookStdin);
    if (n < sizeof buf) {
      if (std::ferror(stdin)) return raind::fail_errno("read state from stdin");
      return text;
    }
  }
}

int run_hook_command(const std::string& config_path, bool config_missing_ok,
                     const std::string& event) {
  raind::condenser::hookclient::HookOptions options;
  options.config_path = config_path;
  options.config_missing_ok = config_missing_ok;
  options.event = event;
  const raind::Status status = [&]() -> raind::Status {
    RAIND_TRY_ASSIGN(options.state_json, read_stdin_limited());
    return raind::condenser::hookclient::run_hook(options);
  }();
  if (!status) {
    std::fprintf(stderr, "condenserd hook: %s\n", status.error().what().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

#if defined(__SANITIZE_ADDRESS__)
// LeakSanitizer's exit-time check stops every thread by reading /proc/<own pid>/task. As a
// createContainer hook condenserd runs in the container's PID namespace while /proc belongs to
// another one, so there the check cannot run at all: it would fail the hook with a LeakSanitizer
// fatal error instead of reporting a leak. Everywhere else (daemon, other hooks) it stays on.
extern "C" int __lsan_is_turned_off() {
  char self[32] = {};
  char own[32] = {};
  const ssize_t n = ::readlink("/proc/self", self, sizeof self - 1);
  std::snprintf(own, sizeof own, "%d", static_cast<int>(::getpid()));
  return n <= 0 || std::strcmp(self, own) != 0;
}
#endif

int main(int argc, char** argv) {
  CLI::App app{"condenserd: Raind control-plane daemon"};
  std::string config_path(raind::condenser::kDefaultConfigPath);
  std::string log_level;
  bool version = false;
  auto* config_opt = app.add_option("-c,--config", config_path, "configuration file");
  app.add_option("--log-level", log_level, "override the configured log level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));
  app.add_flag("--version", version, "print the version and exit");

  auto* hook = app.add_subcommand(
      "hook", "OCI hook client: report a lifecycle event (OCI state JSON on stdin)");
  std::string hook_event;
  std::vector<std::string> events(raind::condenser::hookclient::kHookEvents.begin(),
                                  raind::condenser::hookclient::kHookEvents.end());
  hook->add_option("--event", hook_event, "hook phase")->required()->check(CLI::IsMember(events));
  auto* hook_config_opt = hook->add_option("-c,--config", config_path, "configuration file");
  CLI11_PARSE(app, argc, argv);
  if (version) {
    std::printf("condenserd %s\n", RAIND_VERSION);
    return 0;
  }
  // The default file may be absent (defaults apply); a file named explicitly must exist.
  const bool config_missing_ok = config_opt->count() == 0 && hook_config_opt->count() == 0;
  if (*hook) return run_hook_command(config_path, config_missing_ok, hook_event);
  raind::condenser::DaemonOptions options;
  options.config_path = config_path;
  options.config_missing_ok = config_missing_ok;
  options.log_level_override = log_level;
  return raind::condenser::run_daemon(options);
}

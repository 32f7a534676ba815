// droplet: Raind's OCI runtime. runc-compatible command line; one file per verb.
#include <signal.h>

#include <iostream>

#include "cli.hpp"
#include "raind/droplet/audit.hpp"
#include "raind/log.hpp"

namespace raind::droplet::cli {

int report(const Globals& g, const Error& error) {
  std::string msg = error.what();
  if (!g.log.empty()) logger("droplet")->error("{}", msg);
  std::cerr << "droplet: " << msg << std::endl;
  return 1;
}

void add_create_flags(CLI::App* sub, CreateFlags& f) {
  sub->add_option("-b,--bundle", f.bundle, "path to the bundle directory");
  sub->add_option("--console-socket", f.console_socket,
                  "unix socket that receives the pty master (SCM_RIGHTS)");
  sub->add_option("--pid-file", f.pid_file, "file to write the init pid to");
  sub->add_flag("--no-pivot", f.no_pivot, "use MS_MOVE + chroot instead of pivot_root");
  sub->add_option("--preserve-fds", f.preserve_fds, "pass N extra fds (from 3) to the process");
  sub->add_flag("--no-new-keyring", f.no_new_keyring, "accepted for runc compatibility");
  sub->add_option("id", f.id, "container id")->required();
}

CreateOptions to_create_options(const CreateFlags& f) {
  CreateOptions o;
  o.id = f.id;
  o.bundle = f.bundle;
  o.console_socket = f.console_socket;
  o.pid_file = f.pid_file;
  o.no_pivot = f.no_pivot;
  o.preserve_fds = f.preserve_fds;
  o.tty_shim = f.tty_shim;
  return o;
}

}  // namespace raind::droplet::cli

int main(int argc, char** argv) {
  using namespace raind::droplet::cli;
  ::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"droplet: Raind's OCI container runtime"};
  app.name("droplet");
  Globals g;
  app.add_option("--root", g.root, "root directory for container state");
  app.add_option("--log", g.log, "log file (default: stderr)");
  app.add_option("--log-format", g.log_format, "log format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_flag("--debug", g.debug, "enable debug logging");
  std::string audit_log;
  app.add_option("--audit-log", audit_log, "append a JSON audit record per lifecycle step here");
  app.add_flag("--systemd-cgroup", g.systemd_cgroup,
               "accepted; the cgroupfs driver is used when systemd is absent");
  std::string criu, rootless;
  app.add_option("--criu", criu, "accepted for runc compatibility");
  app.add_option("--rootless", rootless, "accepted for runc compatibility");
  app.add_flag_callback("-v,--version", [] {
    std::cout << "droplet version 0.2.0\nspec: 1.2.0\n";
    std::exit(0);
  });
  app.require_subcommand(1);
  app.parse_complete_callback([&] {
    raind::LogOptions lo;
    lo.level = g.debug ? "debug" : "warn";
    lo.file = g.log;
    lo.json = g.log_format == "json";
    raind::setup_logging(lo);
    if (!audit_log.empty()) {
      auto opened = raind::droplet::audit::open_log(audit_log);
      if (!opened) {
        std::cerr << "droplet: " << opened.error().what() << std::endl;
        std::exit(1);
      }
    }
  });
  add_create(app, g);
  add_start(app, g);
  add_run(app, g);
  add_state(app, g);
  add_kill(app, g);
  add_delete(app, g);
  add_exec(app, g);
  add_ps(app, g);
  add_list(app, g);
  add_pause(app, g);
  add_resume(app, g);
  add_update(app, g);
  add_events(app, g);
  add_features(app, g);
  add_spec(app, g);
  try {
    app.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "droplet: " << e.what() << std::endl;
    return 1;
  }
  return g.exit_code;
}

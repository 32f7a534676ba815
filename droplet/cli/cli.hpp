#pragma once
// Shared pieces of droplet's verbs: global flags, error reporting, the runtime handle.
#include <string>

#include <CLI/CLI.hpp>

#include "raind/droplet/runtime.hpp"
#include "raind/error.hpp"

namespace raind::droplet::cli {

struct Globals {
  std::string root = "/run/droplet";
  std::string log;
  std::string log_format = "text";
  bool debug = false;
  bool systemd_cgroup = false;
  int exit_code = 0;

  Runtime runtime() const { return Runtime(root); }
};

// Prints "droplet: <message>" to stderr (and to --log), returns runc's exit status 1.
int report(const Globals& g, const Error& error);

// Verb registration: each adds a subcommand whose callback sets g.exit_code.
void add_create(CLI::App& app, Globals& g);
void add_start(CLI::App& app, Globals& g);
void add_run(CLI::App& app, Globals& g);
void add_state(CLI::App& app, Globals& g);
void add_kill(CLI::App& app, Globals& g);
void add_delete(CLI::App& app, Globals& g);
void add_exec(CLI::App& app, Globals& g);
void add_ps(CLI::App& app, Globals& g);
void add_list(CLI::App& app, Globals& g);
void add_pause(CLI::App& app, Globals& g);
void add_resume(CLI::App& app, Globals& g);
void add_update(CLI::App& app, Globals& g);
void add_events(CLI::App& app, Globals& g);
void add_features(CLI::App& app, Globals& g);
void add_spec(CLI::App& app, Globals& g);

// Options shared by create and run.
struct CreateFlags {
  std::string bundle;
  std::string console_socket;
  std::string pid_file;
  bool no_pivot = false;
  int preserve_fds = 0;
  bool no_new_keyring = false;
  bool tty_shim = false;
  std::string id;
};
void add_create_flags(CLI::App* sub, CreateFlags& f);
CreateOptions to_create_options(const CreateFlags& f);

}  // namespace raind::droplet::cli

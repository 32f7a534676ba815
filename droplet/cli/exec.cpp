#include "cli.hpp"

namespace raind::droplet::cli {

void add_exec(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("exec", "run a new process inside a container");
  struct Flags {
    std::string process;
    bool tty = false, detach = false, tty_shim = false;
    std::string console_socket, pid_file, cwd;
    std::vector<std::string> env, caps;
    std::string user;
    int preserve_fds = 0;
    bool no_new_privs = false;
  };
  auto f = std::make_shared<Flags>();
  sub->add_option("-p,--process", f->process, "process.json to run");
  sub->add_flag("-t,--tty", f->tty, "allocate a pseudo-terminal");
  sub->add_flag("-d,--detach", f->detach, "do not wait for the process");
  sub->add_flag("--tty-shim", f->tty_shim,
                "run the process under a detached shim serving attach on <state>/exec-<pid>.sock");
  sub->add_option("--console-socket", f->console_socket, "receives the pty master");
  sub->add_option("--pid-file", f->pid_file, "file to write the process pid to");
  sub->add_option("--cwd", f->cwd, "working directory inside the container");
  sub->add_option("-e,--env", f->env, "set an environment variable (KEY=VALUE)");
  sub->add_option("-u,--user", f->user, "uid[:gid]");
  sub->add_option("-c,--cap", f->caps, "add a capability");
  sub->add_option("--preserve-fds", f->preserve_fds, "pass N extra fds");
  sub->add_flag("--no-new-privs", f->no_new_privs, "accepted");
  sub->prefix_command();
  sub->callback([&g, f, sub] {
    auto rest = sub->remaining();
    if (rest.empty()) {
      g.exit_code = report(g, Error(Errc::invalid_argument, "exec: container id required"));
      return;
    }
    ExecOptions o;
    o.id = rest[0];
    o.args.assign(rest.begin() + 1, rest.end());
    if (!f->process.empty()) o.process_file = f->process;
    o.tty = f->tty;
    o.detach = f->detach;
    o.tty_shim = f->tty_shim;
    o.console_socket = f->console_socket;
    o.pid_file = f->pid_file;
    o.cwd = f->cwd;
    o.env = f->env;
    if (!f->user.empty()) o.user = f->user;
    o.caps = f->caps;
    o.preserve_fds = f->preserve_fds;
    auto code = g.runtime().exec(o);
    if (!code)
      g.exit_code = report(g, code.error());
    else
      g.exit_code = *code;
  });
}

}  // namespace raind::droplet::cli

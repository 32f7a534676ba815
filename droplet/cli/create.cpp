#include "cli.hpp"

namespace raind::droplet::cli {

void add_create(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("create", "create a container (the process waits for start)");
  auto flags = std::make_shared<CreateFlags>();
  add_create_flags(sub, *flags);
  sub->add_flag("--tty-shim", flags->tty_shim,
                "keep a detached shim that owns the terminal and serves attach");
  sub->callback([&g, flags] {
    auto pid = g.runtime().create(to_create_options(*flags));
    if (!pid) g.exit_code = report(g, pid.error());
  });
}

}  // namespace raind::droplet::cli

#include "cli.hpp"

namespace raind::droplet::cli {

void add_run(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("run", "create and start a container, wait for it to exit");
  auto flags = std::make_shared<CreateFlags>();
  auto detach = std::make_shared<bool>(false);
  add_create_flags(sub, *flags);
  sub->add_flag("-d,--detach", *detach, "return after the process started");
  sub->callback([&g, flags, detach] {
    auto code = g.runtime().run(to_create_options(*flags), *detach);
    if (!code)
      g.exit_code = report(g, code.error());
    else
      g.exit_code = *code;
  });
}

}  // namespace raind::droplet::cli

#include <iostream>

#include "cli.hpp"

namespace raind::droplet::cli {

void add_state(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("state", "print the OCI state of a container");
  auto id = std::make_shared<std::string>();
  sub->add_option("id", *id, "container id")->required();
  sub->callback([&g, id] {
    auto st = g.runtime().state(*id);
    if (!st) {
      g.exit_code = report(g, st.error());
      return;
    }
    std::cout << st->dump(2) << std::endl;
  });
}

}  // namespace raind::droplet::cli

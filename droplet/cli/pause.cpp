#include "cli.hpp"

namespace raind::droplet::cli {

void add_pause(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("pause", "freeze every process of a container");
  auto id = std::make_shared<std::string>();
  sub->add_option("id", *id, "container id")->required();
  sub->callback([&g, id] {
    auto st = g.runtime().pause(*id);
    if (!st) g.exit_code = report(g, st.error());
  });
}

}  // namespace raind::droplet::cli

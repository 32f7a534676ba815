#include "cli.hpp"

namespace raind::droplet::cli {

void add_delete(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("delete", "delete a stopped container (or any with --force)");
  auto id = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  sub->add_flag("-f,--force", *force, "kill a running container first");
  sub->add_option("id", *id, "container id")->required();
  sub->callback([&g, id, force] {
    auto st = g.runtime().remove(*id, *force);
    if (!st) g.exit_code = report(g, st.error());
  });
}

}  // namespace raind::droplet::cli

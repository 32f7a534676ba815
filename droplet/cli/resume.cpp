#include "cli.hpp"

namespace raind::droplet::cli {

void add_resume(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("resume", "thaw a paused container");
  auto id = std::make_shared<std::string>();
  sub->add_option("id", *id, "container id")->required();
  sub->callback([&g, id] {
    auto st = g.runtime().resume(*id);
    if (!st) g.exit_code = report(g, st.error());
  });
}

}  // namespace raind::droplet::cli

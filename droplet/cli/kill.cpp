#include <signal.h>

#include "cli.hpp"
#include "raind/droplet/parse.hpp"

namespace raind::droplet::cli {

void add_kill(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("kill", "send a signal (default SIGTERM) to a container");
  auto id = std::make_shared<std::string>();
  auto sig = std::make_shared<std::string>("SIGTERM");
  auto all = std::make_shared<bool>(false);
  sub->add_flag("-a,--all", *all, "signal every process of the container");
  sub->add_option("id", *id, "container id")->required();
  sub->add_option("signal", *sig, "signal name (KILL, SIGKILL) or number");
  sub->callback([&g, id, sig, all] {
    auto n = parse_signal(*sig);
    if (!n) {
      g.exit_code = report(g, n.error());
      return;
    }
    auto st = g.runtime().kill(*id, *n, *all);
    if (!st) g.exit_code = report(g, st.error());
  });
}

}  // namespace raind::droplet::cli

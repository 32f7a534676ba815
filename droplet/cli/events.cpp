#include <chrono>
#include <iostream>
#include <thread>

#include "cli.hpp"

namespace raind::droplet::cli {

void add_events(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("events", "print container statistics as JSON");
  auto id = std::make_shared<std::string>();
  auto stats = std::make_shared<bool>(false);
  auto interval = std::make_shared<int>(5);
  sub->add_flag("--stats", *stats, "print one statistics record and exit");
  sub->add_option("--interval", *interval, "seconds between records (without --stats)");
  sub->add_option("id", *id, "container id")->required();
  sub->callback([&g, id, stats, interval] {
    auto rt = g.runtime();
    for (;;) {
      auto ev = rt.stats_event(*id);
      if (!ev) {
        g.exit_code = report(g, ev.error());
        return;
      }
      std::cout << ev->dump() << std::endl;
      if (*stats) return;
      std::this_thread::sleep_for(std::chrono::seconds(std::max(1, *interval)));
    }
  });
}

}  // namespace raind::droplet::cli

#include <iostream>

#include "cli.hpp"

namespace raind::droplet::cli {

void add_features(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("features", "print the OCI features document");
  sub->callback([&g] {
    (void)g;
    std::cout << features_document().dump(4) << std::endl;
  });
}

}  // namespace raind::droplet::cli

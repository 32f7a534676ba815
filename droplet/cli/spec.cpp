#include <sys/stat.h>

#include <filesystem>

#include "cli.hpp"
#include "raind/sys/files.hpp"

namespace raind::droplet::cli {

void add_spec(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("spec", "write a default config.json");
  auto rootless = std::make_shared<bool>(false);
  auto bundle = std::make_shared<std::string>(".");
  sub->add_flag("--rootless", *rootless, "a configuration for a rootless container");
  sub->add_option("-b,--bundle", *bundle, "directory to write config.json into");
  sub->callback([&g, rootless, bundle] {
    auto path = std::filesystem::path(*bundle) / "config.json";
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      g.exit_code = report(
          g, Error(Errc::already_exists, "file " + path.string() + " exists; remove it first"));
      return;
    }
    auto doc = oci::spec_to_json(oci::default_spec(*rootless));
    auto wrote = raind::sys::write_file(path, doc.dump(2) + "\n", 0644);
    if (!wrote) g.exit_code = report(g, wrote.error());
  });
}

}  // namespace raind::droplet::cli

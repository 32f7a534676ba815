#include <cstdio>
#include <ctime>
#include <filesystem>

#include "raind-cli/commands/commands.hpp"
#include "raind-cli/output/table.hpp"

namespace raind::cli {

namespace {

std::string age(std::int64_t unix_seconds) {
  if (unix_seconds <= 0) return "-";
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto d = now - unix_seconds;
  if (d < 60) return std::to_string(d) + " seconds ago";
  if (d < 3600) return std::to_string(d / 60) + " minutes ago";
  if (d < 86400) return std::to_string(d / 3600) + " hours ago";
  return std::to_string(d / 86400) + " days ago";
}

void print_images(const nlohmann::json& list) {
  Table t({"REFERENCE", "IMAGE ID", "LAYERS", "CREATED"});
  for (const auto& i : list)
    t.add({i.value("reference", ""), i.value("id", ""), std::to_string(i.value("layers", 0)),
           age(i.value("created_unix", std::int64_t{0}))});
  std::fputs(t.render().c_str(), stdout);
}

}  // namespace

void add_image_commands(CLI::App& app, GlobalOptions& g) {
  auto* image = app.add_subcommand("image", "local images");
  image->require_subcommand(1);

  auto* import = image->add_subcommand(
      "import", "import an OCI layout or docker-archive tarball from this host");
  auto file = std::make_shared<std::string>();
  auto name = std::make_shared<std::string>();
  import->add_option("file", *file, "tarball path")->required();
  import->add_option("-n,--name", *name, "reference to register the image under");
  import->callback([&g, file, name] {
    run_command(g, [&](Client& client) -> Status {
      std::error_code ec;
  auto path = std::filesystem::absolute(*file, ec);
  nlohmann::json body = {{"path", path.string()}};
  if (!name->empty()) body["reference"] = *name;
  RAIND_TRY_ASSIGN(auto data, client.call("POST", "/v1/images/import", body));
  for (const auto& i : data)
    std::printf("imported %s (%s)\n", i.value("reference", "").c_str(), i.value("id", "").c_str());
  return ok();
});
}  // namespace raind::cli
);

auto* ls = image->add_subcommand("ls", "list images");
auto json = std::make_shared<bool>(false);
ls->add_flag("--json", *json, "print the raw JSON");
ls->callback([&g, json] {
  run_command(g, [&](Client& client) -> Status {
    RAIND_TRY_ASSIGN(auto data, client.call("GET", "/v1/images"));
    if (*json)
      std::printf("%s\n", data.dump(2).c_str());
    else
      print_images(data);
    return ok();
  });
});

auto* inspect = image->add_subcommand("inspect", "show one image as JSON");
auto target = std::make_shared<std::string>();
inspect->add_option("image", *target, "reference or id")->required();
inspect->callback([&g, target] {
  run_command(g, [&](Client& client) -> Status {
    RAIND_TRY_ASSIGN(auto data, client.call("GET", "/v1/images/" + url_escape(*target)));
    std::printf("%s\n", data.dump(2).c_str());
    return ok();
  });
});

auto* rm = image->add_subcommand("rm", "remove an image (a tag, or every tag of an id)");
auto victim = std::make_shared<std::string>();
rm->add_option("image", *victim, "reference or id")->required();
rm->callback([&g, victim] {
  run_command(g, [&](Client& client) -> Status {
    RAIND_TRY_ASSIGN(auto data, client.call("DELETE", "/v1/images/" + url_escape(*victim)));
    for (const auto& i : data) std::printf("removed %s\n", i.value("reference", "").c_str());
    return ok();
  });
});
}

}  // namespace raind::cli

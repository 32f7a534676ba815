// `raind image …`: pull (with progress), import/export of tarballs, ls, inspect, rm, prune,
// login/logout.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "raind-cli/commands/commands.hpp"
#include "raind-cli/output/pull_progress.hpp"
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

Result<std::string> read_password_stdin() {
  std::string password;
  std::getline(std::cin, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) return failf(Errc::invalid_argument, "no password on standard input");
  return password;
}

}  // namespace

Result<nlohmann::json> pull_image(Client& client, const std::string& reference,
                                  const std::string& platform, bool quiet) {
  nlohmann::json body = {{"reference", reference}};
  if (!platform.empty()) body["platform"] = platform;
  PullProgress progress(::isatty(STDERR_FILENO) == 1);
  std::string pending;
  RAIND_TRY(client.stream(
      "/v1/images/pull",
      [&](std::string_view data) {
        pending.append(data);
        std::size_t newline;
        while ((newline = pending.find('\n')) != std::string::npos) {
          auto event = nlohmann::json::parse(pending.substr(0, newline), nullptr, false);
          pending.erase(0, newline + 1);
          auto text = progress.on_event(event);
          if (!quiet && !text.empty()) {
            std::fputs(text.c_str(), stderr);
            std::fflush(stderr);
          }
        }
      },
      "POST", body.dump()));
  const auto& outcome = progress.outcome();
  if (!outcome) return failf(Errc::unavailable, "the pull of {} ended without a result", reference);
  if (outcome->value("status", "") == "error")
    return std::unexpected(Error(errc_from_http_status(outcome->value("http_status", 500u)),
                                 outcome->value("message", std::string("pull failed"))));
  return outcome->value("image", nlohmann::json::object());
}

void add_image_commands(CLI::App& app, GlobalOptions& g) {
  auto* image = app.add_subcommand("image", "images: pull, import, export, list, remove");
  image->require_subcommand(1);

  auto* pull = image->add_subcommand("pull", "pull an image from a registry");
  auto pull_ref = std::make_shared<std::string>();
  auto platform = std::make_shared<std::string>();
  auto quiet = std::make_shared<bool>(false);
  pull->add_option("image", *pull_ref, "reference: [registry[:port]/]name[:tag][@digest]")
      ->required();
  pull->add_option("--platform", *platform,
                   "os/arch[/variant] to select from a multi-platform image");
  pull->add_flag("-q,--quiet", *quiet, "print only the image id");
  pull->callback([&g, pull_ref, platform, quiet] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(auto pulled, pull_image(client, *pull_ref, *platform, *quiet));
      if (*quiet) {
        std::printf("%s\n", pulled.value("full_id", "").c_str());
      } else {
        std::printf("pulled %s (%s): %zu layers downloaded (%s), %zu already present\n",
                    pulled.value("reference", "").c_str(), pulled.value("id", "").c_str(),
                    pulled.value("layers_downloaded", std::size_t{0}),
                    human_bytes(pulled.value("bytes_downloaded", std::uint64_t{0})).c_str(),
                    pulled.value("layers_present", std::size_t{0}));
      }
      return ok();
    });
  });

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

auto* exp = image->add_subcommand("export", "write images as an OCI layout tarball on this host");
auto names = std::make_shared<std::vector<std::string>>();
auto output = std::make_shared<std::string>();
exp->add_option("image", *names, "references or ids")->required();
exp->add_option("-o,--output", *output, "tarball to create (must not exist)")->required();
exp->callback([&g, names, output] {
  run_command(g, [&](Client& client) -> Status {
    std::error_code ec;
    auto path = std::filesystem::absolute(*output, ec);
    nlohmann::json body = {{"images", *names}, {"path", path.string()}};
    RAIND_TRY_ASSIGN(auto data, client.call("POST", "/v1/images/export", body));
    std::printf("exported %zu image(s) to %s\n", data.value("images", std::size_t{0}),
                data.value("path", "").c_str());
    return ok();
  });
});

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

auto* rm = image->add_subcommand(
    "rm", "remove an image (a tag, or every tag of an id); refused while containers use it");
auto victim = std::make_shared<std::string>();
rm->add_option("image", *victim, "reference or id")->required();
rm->callback([&g, victim] {
  run_command(g, [&](Client& client) -> Status {
    RAIND_TRY_ASSIGN(auto data, client.call("DELETE", "/v1/images/" + url_escape(*victim)));
    for (const auto& i : data.value("removed", nlohmann::json::array()))
      std::printf("removed %s\n", i.value("reference", "").c_str());
    if (data.contains("gc"))
      std::printf("freed %s (%zu layers, %zu blobs)\n",
                  human_bytes(data["gc"].value("bytes_freed", std::uint64_t{0})).c_str(),
                  data["gc"].value("layers_removed", std::size_t{0}),
                  data["gc"].value("blobs_removed", std::size_t{0}));
    return ok();
  });
});

auto* prune = image->add_subcommand(
    "prune", "remove unreferenced layers and blobs (with --all, also unused images)");
auto all = std::make_shared<bool>(false);
prune->add_flag("-a,--all", *all, "also remove every image no container uses");
prune->callback([&g, all] {
  run_command(g, [&](Client& client) -> Status {
    nlohmann::json body = {{"all", *all}};
    RAIND_TRY_ASSIGN(auto data, client.call("POST", "/v1/images/prune", body));
    for (const auto& i : data.value("images_removed", nlohmann::json::array()))
      std::printf("removed %s\n", i.value("reference", "").c_str());
    std::printf("freed %s (%zu layers, %zu blobs, %zu partial downloads)\n",
                human_bytes(data.value("bytes_freed", std::uint64_t{0})).c_str(),
                data.value("layers_removed", std::size_t{0}),
                data.value("blobs_removed", std::size_t{0}),
                data.value("partials_removed", std::size_t{0}));
    return ok();
  });
});

auto* login = image->add_subcommand("login", "store credentials for a registry (checked first)");
auto registry = std::make_shared<std::string>();
auto username = std::make_shared<std::string>();
auto password = std::make_shared<std::string>();
auto password_stdin = std::make_shared<bool>(false);
login->add_option("registry", *registry, "host[:port] (docker.io for Docker Hub)")->required();
login->add_option("-u,--username", *username, "user name")->required();
login->add_option("-p,--password", *password, "password (prefer --password-stdin)");
login->add_flag("--password-stdin", *password_stdin, "read the password from standard input");
login->callback([&g, registry, username, password, password_stdin] {
  run_command(g, [&](Client& client) -> Status {
    std::string secret = *password;
    if (*password_stdin) {
      RAIND_TRY_ASSIGN(secret, read_password_stdin());
    }
    if (secret.empty())
      return failf(Errc::invalid_argument, "give a password with --password-stdin or -p");
    nlohmann::json body = {{"registry", *registry}, {"username", *username}, {"password", secret}};
    RAIND_TRY_ASSIGN(auto data, client.call("POST", "/v1/images/login", body));
    std::printf("login succeeded: %s\n", data.value("registry", "").c_str());
    return ok();
  });
});

auto* logout = image->add_subcommand("logout", "forget the credentials of a registry");
auto logout_registry = std::make_shared<std::string>();
logout->add_option("registry", *logout_registry, "host[:port]")->required();
logout->callback([&g, logout_registry] {
  run_command(g, [&](Client& client) -> Status {
    nlohmann::json body = {{"registry", *logout_registry}};
    RAIND_TRY_ASSIGN(auto data, client.call("POST", "/v1/images/logout", body));
    std::printf("logged out of %s\n", data.value("registry", "").c_str());
    return ok();
  });
});
}

}  // namespace raind::cli

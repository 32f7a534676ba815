// `raind bottle create|start|stop|rm|ls|show`: multi-container applications from one YAML file.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "raind-cli/commands/commands.hpp"
#include "raind-cli/output/bottle_format.hpp"

namespace raind::cli {
namespace {

Result<std::string> read_bottle_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return failf(Errc::not_found, "cannot read bottle file '{}'", path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The daemon's envelope: data on success, its message as the error otherwise.
Result<nlohmann::json> envelope_data(const HttpResult& r) {
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  std::string message = doc.is_object() ? doc.value("message", r.body) : r.body;
  if (r.status >= 300) return fail(errc_from_http_status(r.status), message);
  return doc.is_object() ? doc.value("data", nlohmann::json()) : nlohmann::json();
}

}  // namespace

void add_bottle_commands(CLI::App& app, GlobalOptions& g) {
  auto* bottle = app.add_subcommand("bottle", "multi-container applications (one YAML file)");
  bottle->require_subcommand(1);

  auto file = std::make_shared<std::string>();
  auto* create =
      bottle->add_subcommand("create", "create a bottle's network, containers and policies");
  create->add_option("-f,--file", *file, "the bottle file (YAML)")->required();
  create->callback([&g, file] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(auto yaml, read_bottle_file(*file));
      std::string name = std::filesystem::path(*file).filename().string();
      RAIND_TRY_ASSIGN(auto r, client.request("POST", "/v1/bottles?file=" + url_escape(name), yaml,
                                              "application/yaml"));
      RAIND_TRY_ASSIGN(auto data, envelope_data(r));
      std::printf("bottle: %s created\n", data.value("name", "").c_str());
      return ok();
    });
  });

  auto action = [&g](CLI::App* sub, std::string verb, std::string method, std::string suffix,
                     std::string done) {
    auto name = std::make_shared<std::string>();
    sub->add_option("bottle", *name, "bottle name")->required();
    sub->callback([&g, name, method, suffix, done] {
      run_command(g, [&](Client& client) -> Status {
        RAIND_TRY(client.call(method, "/v1/bottles/" + url_escape(*name) + suffix));
        std::printf("bottle: %s %s\n", name->c_str(), done.c_str());
        return ok();
      });
    });
    (void)verb;
  };
  action(bottle->add_subcommand("start", "start the services in dependency order"), "start", "POST",
         "/start", "started");
  action(bottle->add_subcommand("stop", "stop the services in reverse order"), "stop", "POST",
         "/stop", "stopped");
  action(bottle->add_subcommand("rm", "remove the bottle: containers, policies, network"), "rm",
         "DELETE", "", "removed");

  auto ls_json = std::make_shared<bool>(false);
  auto* ls = bottle->add_subcommand("ls", "list bottles");
  ls->add_flag("--json", *ls_json, "print the raw JSON");
  ls->callback([&g, ls_json] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(auto data, client.call("GET", "/v1/bottles"));
      if (*ls_json) {
        std::printf("%s\n", data.dump(2).c_str());
        return ok();
      }
      std::fputs(format_bottle_list(data).c_str(), stdout);
      return ok();
    });
  });

  auto show_name = std::make_shared<std::string>();
  auto show_json = std::make_shared<bool>(false);
  auto* show = bottle->add_subcommand("show", "a bottle's services, order and policies");
  show->add_option("bottle", *show_name, "bottle name")->required();
  show->add_flag("--json", *show_json, "print the raw JSON");
  show->callback([&g, show_name, show_json] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(auto data, client.call("GET", "/v1/bottles/" + url_escape(*show_name)));
      if (*show_json) {
        std::printf("%s\n", data.dump(2).c_str());
        return ok();
      }
      std::fputs(format_bottle_show(data).c_str(), stdout);
      return ok();
    });
  });
}

}  // namespace raind::cli

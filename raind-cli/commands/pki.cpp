#include <cstdio>

#include "raind-cli/commands/commands.hpp"
#include "raind-cli/output/table.hpp"

namespace raind::cli {

namespace {

void print_certs(const nlohmann::json& data) {
  Table table({"KIND", "SERIAL", "SPIFFE ID", "NOT AFTER", "STATUS"});
  for (const auto& c : data) {
    std::string spiffe = c.value("spiffe_id", "");
    if (spiffe.empty()) spiffe = c.value("subject_cn", "");
    const bool superseded = c.contains("superseded_at") && !c["superseded_at"].is_null();
    table.add({c.value("kind", ""), c.value("serial", "").substr(0, 16), spiffe,
               c.value("not_after", ""), superseded ? "superseded" : "active"});
  }
  std::fputs(table.render().c_str(), stdout);
}

}  // namespace

void add_pki_commands(CLI::App& app, GlobalOptions& g) {
  auto* pki = app.add_subcommand("pki", "certificates issued by condenserd's CA");
  pki->require_subcommand(1);

  auto* ls = pki->add_subcommand("ls", "list certificates");
  auto json = std::make_shared<bool>(false);
  auto all = std::make_shared<bool>(false);
  ls->add_flag("--json", *json, "print the raw JSON");
  ls->add_flag("-a,--all", *all, "include superseded certificates");
  ls->callback([&g, json, all] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(auto data,
                       client.call("GET", *all ? "/v1/pki/certs?all=1" : "/v1/pki/certs"));
      if (*json)
        std::printf("%s\n", data.dump(2).c_str());
      else
        print_certs(data);
      return ok();
    });
  });

  auto* rotate = pki->add_subcommand(
      "rotate", "issue new server, CLI and hook certificates under the same CA");
  auto rjson = std::make_shared<bool>(false);
  rotate->add_flag("--json", *rjson, "print the raw JSON");
  rotate->callback([&g, rjson] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(auto data, client.call("POST", "/v1/pki/rotate", nlohmann::json::object()));
      if (*rjson) {
        std::printf("%s\n", data.dump(2).c_str());
      } else {
        print_certs(data);
        std::printf("rotated %zu certificates; the previous ones stay valid until they expire\n",
                    data.size());
      }
      return ok();
    });
  });
}

}  // namespace raind::cli

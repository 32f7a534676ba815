#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "cli.hpp"

namespace raind::droplet::cli {

void add_list(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("list", "list containers");
  auto format = std::make_shared<std::string>("table");
  auto quiet = std::make_shared<bool>(false);
  sub->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  sub->add_flag("-q,--quiet", *quiet, "print only ids");
  sub->callback([&g, format, quiet] {
    auto list = g.runtime().list();
    if (!list) {
      g.exit_code = report(g, list.error());
      return;
    }
    if (*quiet) {
      for (const auto& c : *list) std::cout << c.record.id << "\n";
      return;
    }
    if (*format == "json") {
      auto arr = nlohmann::json::array();
      for (const auto& c : *list) arr.push_back(state_json(c.record, c.status));
      std::cout << arr.dump() << std::endl;
      return;
    }
    std::vector<std::vector<std::string>> rows{
        {"ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"}};
    for (const auto& c : *list) {
      auto j = state_json(c.record, c.status);
      rows.push_back({c.record.id, std::to_string(j["pid"].get<int>()),
                      std::string(status_name(c.status)), c.record.bundle, c.record.created,
                      c.record.owner});
    }
    std::vector<std::size_t> width(6, 12);
    for (const auto& r : rows)
      for (std::size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size() + 3);
    for (const auto& r : rows) {
      std::string line;
      for (std::size_t i = 0; i < r.size(); ++i)
        line += i + 1 < r.size() ? fmt::format("{:<{}}", r[i], width[i]) : r[i];
      std::cout << line << "\n";
    }
  });
}

}  // namespace raind::droplet::cli

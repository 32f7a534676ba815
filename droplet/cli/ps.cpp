#include <algorithm>
#include <iostream>
#include <sstream>

#include "cli.hpp"
#include "raind/sys/process.hpp"

namespace raind::droplet::cli {

void add_ps(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("ps", "list the processes of a container");
  auto format = std::make_shared<std::string>("table");
  sub->add_option("-f,--format", *format, "table or json")->check(CLI::IsMember({"table", "json"}));
  sub->prefix_command();
  sub->callback([&g, format, sub] {
    auto rest = sub->remaining();
    if (rest.empty()) {
      g.exit_code = report(g, Error(Errc::invalid_argument, "ps: container id required"));
      return;
    }
    std::string id = rest[0];
    auto pids = g.runtime().pids(id);
    if (!pids) {
      g.exit_code = report(g, pids.error());
      return;
    }
    if (*format == "json") {
      std::cout << nlohmann::json(*pids).dump() << std::endl;
      return;
    }
    std::vector<std::string> argv{"ps"};
    if (rest.size() > 1)
      argv.insert(argv.end(), rest.begin() + 1, rest.end());
    else
      argv.push_back("-ef");
    auto out = raind::sys::run(argv);
    if (!out) {
      g.exit_code = report(g, out.error());
      return;
    }
    std::istringstream in(out->out);
    std::string line;
    int pid_col = -1;
    bool header = true;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::vector<std::string> cols;
      std::string f;
      while (fields >> f) cols.push_back(f);
      if (header) {
        header = false;
        for (std::size_t i = 0; i < cols.size(); ++i)
          if (cols[i] == "PID") pid_col = static_cast<int>(i);
        if (pid_col < 0) {
          g.exit_code = report(g, Error(Errc::invalid_argument, "ps output has no PID column"));
          return;
        }
        std::cout << line << "\n";
        continue;
      }
      if (static_cast<int>(cols.size()) <= pid_col) continue;
      pid_t p = std::atoi(cols[static_cast<std::size_t>(pid_col)].c_str());
      if (std::find(pids->begin(), pids->end(), p) != pids->end()) std::cout << line << "\n";
    }
  });
}

}  // namespace raind::droplet::cli

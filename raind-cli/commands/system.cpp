#include <cstdio>

#include "raind-cli/commands/commands.hpp"
#include "raind-cli/output/table.hpp"

namespace raind::cli {

namespace {
std::string str(const nlohmann::json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_boolean()) return j.get<bool>() ? "yes" : "no";
  if (j.is_null()) return "-";
  return j.dump();
}
}  // namespace

void add_system_commands(CLI::App& app, GlobalOptions& g) {
  auto* system = app.add_subcommand("system", "daemon and host information");
  system->require_subcommand(1);
  auto* info = system->add_subcommand("info", "show condenserd version, cgroup mode and backends");
  auto json = std::make_shared<bool>(false);
  info->add_flag("--json", *json, "print the raw JSON");
  info->callback([&g, json] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(auto data, client.call("GET", "/v1/system/info"));
      if (*json) {
        std::printf("%s\n", data.dump(2).c_str());
        return ok();
      }
      const auto& counts = data.value("counts", nlohmann::json::object());
      std::vector<std::pair<std::string, std::string>> pairs{
          {"Server version", str(data.value("version", nlohmann::json()))},
          {"Client version", RAIND_VERSION},
          {"Node", str(data.value("node", nlohmann::json()))},
          {"Kernel", str(data.value("kernel", nlohmann::json()))},
          {"Cgroup mode", str(data.value("cgroup_mode", nlohmann::json()))},
          {"Iptables backend", str(data.value("iptables_backend", nlohmann::json()))},
          {"AppArmor", str(data.value("apparmor", nlohmann::json()))},
          {"Containers", str(counts.value("containers", nlohmann::json(0)))},
          {"Images", str(counts.value("images", nlohmann::json(0)))},
          {"Policies", str(counts.value("policies", nlohmann::json(0)))},
          {"Schema version", str(data.value("schema_version", nlohmann::json()))},
          {"Uptime (s)", str(data.value("uptime_s", nlohmann::json()))},
      };
      // One line per pipeline: "received=12 written=12 malformed=0 …".
      const nlohmann::json pipelines = data.value("observability", nlohmann::json::object());
      for (const auto& [name, counters] : pipelines.items()) {
        std::string line;
        if (counters.is_object())
          for (const auto& [key, value] : counters.items())
            line += (line.empty() ? "" : " ") + key + "=" + str(value);
        pairs.emplace_back("Pipeline " + name, line);
      }
      std::fputs(render_pairs(pairs).c_str(), stdout);
      return ok();
    });
  });
}

}  // namespace raind::cli

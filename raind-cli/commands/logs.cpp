// `raind logs netflow|dns|audit|metrics` and `raind container stats`.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "raind-cli/commands/commands.hpp"
#include "raind-cli/output/log_format.hpp"

namespace raind::cli {
namespace {

struct LogFlags {
  std::string kind;
  int lines = 100;
  bool follow = false;
  bool json = false;
  std::string container, verdict, since;
};

std::string log_query(const LogFlags& f) {
  std::string q = "tail_lines=" + std::to_string(f.lines);
  if (f.follow) q += "&follow=1";
  if (!f.container.empty()) q += "&container=" + url_escape(f.container);
  if (!f.verdict.empty()) q += "&verdict=" + url_escape(f.verdict);
  if (!f.since.empty()) q += "&since=" + url_escape(f.since);
  return q;
}

std::vector<nlohmann::json> parse_lines(std::string_view text) {
  std::vector<nlohmann::json> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    auto j = nlohmann::json::parse(text.substr(start, nl - start), nullptr, false);
    if (!j.is_discarded() && j.is_object()) out.push_back(std::move(j));
    start = nl + 1;
  }
  return out;
}

std::string render(const std::string& kind, const std::vector<nlohmann::json>& records) {
  if (kind == "netflow") {
    std::string out;
    for (const auto& r : records) out += format_netflow_line(r) + "\n";
    return out;
  }
  if (records.empty()) return {};
  if (kind == "dns") return format_dns_table(records);
  if (kind == "audit") return format_audit_table(records);
  return format_metrics_table(records);
}

}  // namespace

void add_log_commands(CLI::App& app, GlobalOptions& g) {
  auto flags = std::make_shared<LogFlags>();
  auto* logs = app.add_subcommand("logs", "flow, DNS, audit and metrics logs of condenserd");
  logs->add_option("kind", flags->kind, "netflow | dns | audit | metrics")
      ->required()
      ->check(CLI::IsMember({"netflow", "dns", "audit", "metrics"}));
  logs->add_option("-n,--line", flags->lines, "the last N records (default 100)")
      ->check(CLI::Range(0, 100000));
  logs->add_flag("-f,--follow", flags->follow, "keep printing new records");
  logs->add_flag("--json", flags->json, "print the records as JSON lines");
  logs->add_option("--container", flags->container, "only records naming this container");
  logs->add_option("--verdict", flags->verdict, "allow | deny (netflow, audit)")
      ->check(CLI::IsMember({"allow", "deny"}));
  logs->add_option("--since", flags->since, "RFC 3339 time or a duration (10m, 2h, 1d)");
  logs->callback([&g, flags] {
    run_command(g, [&](Client& client) -> Status {
      const std::string target = "/v1/logs/" + flags->kind + "?" + log_query(*flags);
      if (!flags->follow) {
        RAIND_TRY_ASSIGN(auto r, client.request("GET", target));
        if (r.status != 200) {
          // The daemon's JSON envelope carries the reason.
          auto doc = nlohmann::json::parse(r.body, nullptr, false);
          std::string message = doc.is_object() ? doc.value("message", r.body) : r.body;
          return fail(errc_from_http_status(r.status), message);
        }
        if (flags->json) {
          std::fwrite(r.body.data(), 1, r.body.size(), stdout);
        } else {
          auto text = render(flags->kind, parse_lines(r.body));
          std::fwrite(text.data(), 1, text.size(), stdout);
        }
        return ok();
      }
      std::string pending;
      bool first = true;
      return client.stream(target, [&](std::string_view piece) {
        pending.append(piece);
        auto cut = pending.rfind('\n');
        if (cut == std::string::npos) return;
        std::string complete = pending.substr(0, cut + 1);
        pending.erase(0, cut + 1);
        if (flags->json) {
          for (const auto& r : parse_lines(complete)) std::printf("%s\n", r.dump().c_str());
        } else {
          auto records = parse_lines(complete);
          std::string text = render(flags->kind, records);
          // Tables repeat their header per batch: keep the first one only.
          if (!first && flags->kind != "netflow" && !text.empty())
            text.erase(0, text.find('\n') + 1);
          if (!records.empty()) first = false;
          std::fwrite(text.data(), 1, text.size(), stdout);
        }
        std::fflush(stdout);
      });
    });
  });

  // raind container stats
  auto* container = app.get_subcommand("container");
  auto stats_json = std::make_shared<bool>(false);
  auto stats_once = std::make_shared<bool>(false);
  auto stats_names = std::make_shared<std::vector<std::string>>();
  auto* stats =
      container->add_subcommand("stats", "live CPU, memory and I/O of running containers");
  stats->add_option("containers", *stats_names, "only these (names or ids)");
  stats->add_flag("--no-stream", *stats_once, "print one sample and exit");
  stats->add_flag("--json", *stats_json, "print the records as JSON");
  stats->callback([&g, stats_json, stats_once, stats_names] {
    run_command(g, [&](Client& client) -> Status {
      const bool terminal = ::isatty(STDOUT_FILENO);
      // A first sample gives CPU over the daemon's last interval; later ones over ours.
      for (bool first = true;; first = false) {
        RAIND_TRY_ASSIGN(auto data, client.call("GET", "/v1/metrics"));
        std::vector<nlohmann::json> rows;
        for (auto& r : data) {
          if (stats_names->empty()) {
            rows.push_back(r);
            continue;
          }
          for (const auto& n : *stats_names)
            if (r.value("container_name", "") == n ||
                r.value("container_id", "").rfind(n, 0) == 0) {
              rows.push_back(r);
              break;
            }
        }
        if (*stats_json) {
          std::printf("%s\n", nlohmann::json(rows).dump().c_str());
        } else {
          if (terminal && !first) std::printf("\033[H\033[2J");
          auto text = format_stats_table(rows);
          std::fwrite(text.data(), 1, text.size(), stdout);
        }
        std::fflush(stdout);
        if (*stats_once) return ok();
        std::this_thread::sleep_for(std::chrono::seconds(2));
      }
    });
  });
}

}  // namespace raind::cli

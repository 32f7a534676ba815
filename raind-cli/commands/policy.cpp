// `raind policy …`: stage policies, list them with their status, commit, revert, ns-mode.
#include <cstdio>
#include <iostream>

#include "raind-cli/commands/commands.hpp"
#include "raind-cli/output/policy_format.hpp"

namespace raind::cli {

void add_policy_commands(CLI::App& app, GlobalOptions& g) {
  auto* policy = app.add_subcommand("policy", "network policies: staged, then committed");
  policy->require_subcommand(1);

  struct AddFlags {
    std::string type, source, destination, protocol, comment, reason;
    int dport = 0;
  };
  auto flags = std::make_shared<AddFlags>();
  auto* add = policy->add_subcommand("add", "stage a policy (takes effect at the next commit)");
  add->add_option("--type", flags->type, "ew | ns-obs | ns-enf")->required();
  add->add_option("-s,--source", flags->source, "source container (name or id)")->required();
  add->add_option("-d,--destination", flags->destination,
                  "destination: a container (ew) or an IPv4 address/CIDR (ns)")
      ->required();
  add->add_option("-p,--protocol", flags->protocol, "tcp | udp | icmp");
  add->add_option("--dport", flags->dport, "destination port (tcp/udp)");
  add->add_option("--comment", flags->comment, "free text shown by ls");
  add->add_option("--reason", flags->reason, "why the policy exists");
  add->callback([&g, flags] {
    run_command(g, [&](Client& client) -> Status {
      nlohmann::json body = {
          {"type", flags->type}, {"source", flags->source}, {"destination", flags->destination}};
      if (!flags->protocol.empty()) body["protocol"] = flags->protocol;
      if (flags->dport != 0) body["dport"] = flags->dport;
      if (!flags->comment.empty()) body["comment"] = flags->comment;
      if (!flags->reason.empty()) body["reason"] = flags->reason;
      RAIND_TRY_ASSIGN(auto data, client.call("POST", "/v1/policies", body));
      std::printf("policy: %s created (applies at the next commit)\n",
                  data.value("id", "").c_str());
      return ok();
    });
  });

  auto rm_id = std::make_shared<std::string>();
  auto* rm = policy->add_subcommand("rm", "stage the removal of a policy");
  rm->add_option("id", *rm_id, "policy id")->required();
  rm->callback([&g, rm_id] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY(client.call("DELETE", "/v1/policies/" + url_escape(*rm_id)));
      std::printf("policy: %s remove (at the next commit)\n", rm_id->c_str());
      return ok();
    });
  });

  auto ls_type = std::make_shared<std::string>();
  auto ls_json = std::make_shared<bool>(false);
  auto* ls = policy->add_subcommand("ls", "list policies with their status");
  ls->add_option("--type", *ls_type, "ew | ns-obs | ns-enf")
      ->check(CLI::IsMember({"ew", "ns-obs", "ns-enf"}));
  ls->add_flag("--json", *ls_json, "print the raw JSON");
  ls->callback([&g, ls_type, ls_json] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(auto data, client.call("GET", "/v1/policies"));
      if (*ls_json)
        std::printf("%s\n", data.dump(2).c_str());
      else
        std::fputs(format_policy_listing(data, *ls_type).c_str(), stdout);
      return ok();
    });
  });

  auto yes = std::make_shared<bool>(false);
  auto* commit = policy->add_subcommand("commit", "publish the staged policies and mode");
  commit->add_flag("-y,--yes", *yes, "do not ask for confirmation");
  commit->callback([&g, yes] {
    if (!*yes) {
      std::printf(
          "This operation will affect the container network.\n"
          "Are you sure you want to commit? (y/n): ");
      std::fflush(stdout);
      std::string answer;
      std::getline(std::cin, answer);
      if (answer != "y" && answer != "Y" && answer != "yes" && answer != "Yes" && answer != "YES") {
        std::printf("commit canceled\n");
        return;
      }
    }
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(auto data, client.call("POST", "/v1/policies/commit"));
      std::printf("policy commit success: revision %llu (%zu rules, %zu unresolved)\n",
                  static_cast<unsigned long long>(data.value("revision", 0ULL)),
                  data.value("rules", std::size_t{0}), data.value("unresolved", std::size_t{0}));
      return ok();
    });
  });

  auto* revert = policy->add_subcommand("revert", "discard staged changes");
  revert->callback([&g] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY(client.call("POST", "/v1/policies/revert"));
      std::printf("policy revert success\n");
      return ok();
    });
  });

  auto mode = std::make_shared<std::string>();
  auto* ns_mode = policy->add_subcommand("ns-mode", "stage the north-south mode");
  ns_mode->add_option("mode", *mode, "observe | enforce")->required();
  ns_mode->callback([&g, mode] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY(client.call("POST", "/v1/policies/ns/mode", nlohmann::json{{"mode", *mode}}));
      std::printf("policy north-south mode changed: %s (at the next commit)\n", mode->c_str());
      return ok();
    });
  });
}

}  // namespace raind::cli

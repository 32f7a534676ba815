// Prints, per size: compile time, payload size, apply time (iptables-restore --noflush plus the
// jump checks and the read-back verification) and, up to 1 000 policies, the time of the
// per-rule approach (flush the chains, then `iptables -A` for every rule of the same payload).
// Figures only: the goal (10 000 policies committed in under 1 s) is judged by reading them.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <sstream>

#include "condenser/hostnet/host_network.hpp"
#include "condenser/policy/compile.hpp"
#include "raind/sys/process.hpp"

namespace raind::condenser::policy {
namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

CompileInput make_input(std::size_t policies, std::size_t containers) {
  CompileInput in;
  in.bridges = {{"raind0", "10.166.0.254"},
                {"raind1", "10.166.1.254"},
                {"raind2", "10.166.2.254"},
                {"raind3", "10.166.3.254"}};
  for (std::size_t i = 0; i < containers; ++i) {
    char id[16];
    std::snprintf(id, sizeof id, "b%011zu", i);
    std::string ip = "10.166." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1);
    in.containers.push_back({id, std::string("c") + std::to_string(i), ip,
                             "raind" + std::to_string(i / 250), std::string("rd_") + id});
  }
  for (std::size_t i = 0; i < policies; ++i) {
    Policy p;
    char id[32];
    std::snprintf(id, sizeof id, "01kgtyrrnr%016zu", i);
    p.id = id;
    p.source = "c" + std::to_string(i % containers);
    if (i % 10 == 9) {
      p.type = i % 20 == 19 ? PolicyType::ns_enforce : PolicyType::ns_observe;
      p.destination =
          "203.0." + std::to_string((i / 250) % 250) + "." + std::to_string(i % 250 + 1);
    } else {
      p.destination = "c" + std::to_string((i * 7 + 1) % containers);
      if (p.destination == p.source) p.destination = "c" + std::to_string((i + 1) % containers);
    }
    p.protocol = "tcp";
    p.dport = static_cast<std::uint16_t>(1024 + i % 50000);
    in.policies.push_back(std::move(p));
  }
  return in;
}

hostnet::FilterRules rules_of(const CompileOutput& out) {
  hostnet::FilterRules rules{out.payload, managed_chains(), {}};
  for (const auto& j : filter_jumps()) rules.jumps.emplace_back(j.chain, j.target);
  return rules;
}

// The original's way: flush every chain, then one `iptables -A` per rule.
double per_rule_apply(const CompileOutput& out, const hostnet::IptablesBackend& backend) {
  auto t = Clock::now();
  for (const auto& chain : managed_chains()) (void)sys::run({backend.iptables, "-w", "-F", chain});
  std::istringstream lines(out.payload);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.starts_with("-A ")) continue;
    // The payload is iptables-restore syntax; the shell splits it the way iptables-restore does.
    (void)sys::run({"sh", "-c", backend.iptables + " -w " + line});
  }
  return ms_since(t);
}

// Restore and save alone (the two tool runs inside an apply), for one backend.
void tool_figures(const CompileOutput& out, const hostnet::IptablesBackend& backend,
                  double& restore_ms, double& save_ms) {
  auto t = Clock::now();
  sys::RunOptions options;
  options.stdin_data = out.payload;
  (void)sys::run({backend.restore, "-w", "5", "--noflush"}, options);
  restore_ms = ms_since(t);
  t = Clock::now();
  (void)sys::run({backend.save, "-t", "filter"});
  save_ms = ms_since(t);
}

TEST(PolicyBench, CommitCostBySize) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (runs in the sandbox's network namespace)";
  for (const auto& [label, backend] :
       {std::pair{"iptables (nf_tables)", hostnet::IptablesBackend{}},
        std::pair{"iptables-legacy",
                  hostnet::IptablesBackend{"iptables-legacy-restore", "iptables-legacy-save",
                                           "iptables-legacy"}}}) {
    std::printf("\n== %s ==\n%-9s %-11s %-11s %-12s %-7s %-10s %-11s %-8s %s\n", label, "policies",
                "containers", "compile ms", "payload KiB", "rules", "apply ms", "restore ms",
                "save ms", "per-rule ms (original)");
    for (std::size_t n : {10u, 100u, 1000u, 10000u}) {
      auto in = make_input(n, 1000);
      ASSERT_TRUE(validate_compile_input(in));
      auto t = Clock::now();
      auto out = compile_policies(in);
      double compile_ms = ms_since(t);
      t = Clock::now();
      auto applied = hostnet::apply_filter(rules_of(out), backend);
      double apply_ms = ms_since(t);
      ASSERT_TRUE(applied) << applied.error().what();
      double restore_ms = 0, save_ms = 0;
      tool_figures(out, backend, restore_ms, save_ms);
      std::string original = "-";
      if (n <= 1000) original = fmt::format("{:.0f}", per_rule_apply(out, backend));
      std::printf("%-9zu %-11d %-11.1f %-12zu %-7zu %-10.1f %-11.1f %-8.1f %s\n", n, 1000,
                  compile_ms, out.payload.size() / 1024, out.rules, apply_ms, restore_ms, save_ms,
                  original.c_str());
      std::fflush(stdout);
    }
    // One backend per network namespace: clean up before the other one runs.
    ASSERT_TRUE(hostnet::remove_filter(rules_of(compile_policies(make_input(1, 2))), backend));
  }
}

}  // namespace
}  // namespace raind::condenser::policy

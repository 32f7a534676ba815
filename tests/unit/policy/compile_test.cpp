#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "condenser/policy/compile.hpp"

namespace raind::condenser::policy {
namespace {

// RAIND_UPDATE_GOLDEN=1 rewrites the file from the actual output (review the diff!).
void expect_golden(const std::string& name, const std::string& actual) {
  const std::string path = std::string(RAIND_POLICY_GOLDEN_DIR) + "/" + name;
  if (std::getenv("RAIND_UPDATE_GOLDEN")) std::ofstream(path) << actual;
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  EXPECT_EQ(actual, s.str()) << "golden file " << path;
}

Policy make(std::string id, PolicyType type, std::string src, std::string dst,
            std::string proto = {}, std::uint16_t port = 0) {
  Policy p;
  p.id = std::move(id);
  p.type = type;
  p.source = std::move(src);
  p.destination = std::move(dst);
  p.protocol = std::move(proto);
  p.dport = port;
  return p;
}

CompileInput sample() {
  CompileInput in;
  in.bridges = {{"raind0", "10.166.0.254"}, {"backend", "10.166.1.254"}};
  in.containers = {{"01kg2cnf0ytv", "web", "10.166.0.1", "raind0", "rd_01kg2cnf0ytv"},
                   {"01kg2cnf0yta", "api", "10.166.0.2", "raind0", "rd_01kg2cnf0yta"},
                   {"01kg2cnf0ytd", "db", "10.166.1.1", "backend", "rd_01kg2cnf0ytd"}};
  // Listed out of order: the compiler sorts by id (creation order).
  in.policies = {
      make("01kgtyrrnrxvncpjcmjz2rtnm3", PolicyType::east_west, "api", "db", "tcp", 5432),
      make("01kgtyrrnrxvncpjcmjz2rtnm1", PolicyType::east_west, "web", "api", "tcp", 8080),
      make("01kgtyrrnrxvncpjcmjz2rtnm2", PolicyType::east_west, "web", "ghost"),
      make("01kgtyrrnrxvncpjcmjz2rtnm4", PolicyType::ns_observe, "web", "198.51.100.7", "udp", 53),
      make("01kgtyrrnrxvncpjcmjz2rtnm5", PolicyType::ns_enforce, "api", "203.0.113.0/24", "icmp"),
  };
  return in;
}

TEST(PolicyCompiler, MatchesTheGoldenPayloadInObserveMode) {
  auto in = sample();
  ASSERT_TRUE(validate_compile_input(in));
  auto out = compile_policies(in);
  expect_golden("observe.rules", out.payload);
  ASSERT_EQ(out.unresolved.size(), 1u);
  EXPECT_EQ(out.unresolved[0].first, "01kgtyrrnrxvncpjcmjz2rtnm2");
  EXPECT_EQ(out.unresolved[0].second, "container 'ghost' not found");
}

TEST(PolicyCompiler, EnforceModeChangesOnlyTheNorthSouthJumps) {
  auto in = sample();
  auto observe = compile_policies(in).payload;
  in.mode = NsMode::enforce;
  auto enforce = compile_policies(in).payload;
  expect_golden("enforce.rules", enforce);
  // Line by line, the only differences are "-j RAIND-NS-OBS" → "-j RAIND-NS-ENF" in RAIND-ROOT.
  std::istringstream a(observe), b(enforce);
  std::string la, lb;
  int differing = 0;
  while (std::getline(a, la) && std::getline(b, lb)) {
    if (la == lb) continue;
    ++differing;
    EXPECT_TRUE(la.starts_with("-A RAIND-ROOT") && la.ends_with("-j RAIND-NS-OBS")) << la;
    EXPECT_TRUE(lb.ends_with("-j RAIND-NS-ENF")) << lb;
  }
  EXPECT_EQ(differing, 2);  // one per bridge
}

TEST(PolicyCompiler, DeterministicWhateverTheInputOrder) {
  auto in = sample();
  auto first = compile_policies(in).payload;
  std::reverse(in.policies.begin(), in.policies.end());
  std::reverse(in.containers.begin(), in.containers.end());
  EXPECT_EQ(compile_policies(in).payload, first);
}

TEST(PolicyCompiler, NoPoliciesIsDefaultDenyEastWestAndAGuardedHost) {
  CompileInput in;
  in.bridges = {{"raind0", "10.166.0.254"}};
  auto out = compile_policies(in);
  EXPECT_NE(out.payload.find("-A RAIND-EW -j DROP\n"), std::string::npos);
  EXPECT_NE(out.payload.find("-A RAIND-INPUT -i raind0 -j DROP\n"), std::string::npos);
  EXPECT_NE(out.payload.find(":RAIND-ROOT - [0:0]\n"), std::string::npos);
  EXPECT_TRUE(out.payload.ends_with("COMMIT\n"));
  // Every NFLOG prefix fits the kernel's 64-byte limit (63 + NUL).
  auto sample_out = compile_policies(sample());
  std::istringstream lines(sample_out.payload);
  std::string line;
  while (std::getline(lines, line)) {
    auto at = line.find("--nflog-prefix \"");
    if (at == std::string::npos) continue;
    auto prefix = line.substr(at + 16, line.find('"', at + 16) - at - 16);
    EXPECT_LE(prefix.size(), 63u) << prefix;
  }
}

TEST(PolicyCompiler, RefusesInputThatCouldInjectRules) {
  auto in = sample();
  in.bridges[0].name = "raind0 -j ACCEPT";
  EXPECT_FALSE(validate_compile_input(in));
  in = sample();
  in.containers[0].ip = "10.166.0.1 -j ACCEPT";
  EXPECT_FALSE(validate_compile_input(in));
  in = sample();
  in.policies[0].destination = "x\n-A FORWARD -j ACCEPT";
  EXPECT_FALSE(validate_compile_input(in));
}

TEST(PolicyCompiler, JumpsAndChains) {
  auto jumps = filter_jumps();
  ASSERT_EQ(jumps.size(), 2u);
  EXPECT_EQ(jumps[0].chain, "FORWARD");
  EXPECT_EQ(jumps[0].target, "RAIND-ROOT");
  EXPECT_EQ(jumps[1].chain, "INPUT");
  EXPECT_EQ(managed_chains().size(), 5u);
}

}  // namespace
}  // namespace raind::condenser::policy

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "condenser/hostnet/nat_rules.hpp"

using namespace raind::condenser::hostnet;
using raind::Errc;

namespace {

const std::string kGoldenDir = std::string(RAIND_SOURCE_DIR) + "/tests/unit/hostnet/golden/";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// Compares with golden/<name>; RAIND_UPDATE_GOLDEN=1 rewrites it (review the diff).
void expect_golden(const std::string& name, const std::string& produced) {
  const std::string path = kGoldenDir + name;
  if (std::getenv("RAIND_UPDATE_GOLDEN")) std::ofstream(path) << produced;
  const std::string golden = read_file(path);
  ASSERT_FALSE(golden.empty()) << path;
  EXPECT_EQ(produced, golden) << produced;
}

NatInput sample() {
  NatInput in;
  in.bridges = {"raind0", "blue"};
  in.dns_proxy = "10.166.254.254";
  // Deliberately unsorted: udp before tcp, high port before low.
  in.ports = {
      {"0123456789ab", "10.166.0.2", "raind0", "0.0.0.0", 5353, 53, "udp"},
      {"0123456789ab", "10.166.0.2", "raind0", "0.0.0.0", 8080, 80, "tcp"},
      {"ba9876543210", "10.166.1.7", "blue", "192.0.2.10", 8080, 8000, "tcp"},
      {"ba9876543210", "10.166.1.7", "blue", "0.0.0.0", 443, 8443, "tcp"},
  };
  return in;
}

}  // namespace

TEST(NatRules, NoPortsGolden) {
  NatInput in;
  in.bridges = {"raind0"};
  expect_golden("nat_no_ports.rules", render_nat_rules(in));
}

TEST(NatRules, PublishedPortsGolden) {
  expect_golden("nat_ports.rules", render_nat_rules(sample()));
}

TEST(NatRules, OrderDoesNotDependOnInputOrder) {
  NatInput a = sample();
  NatInput b = sample();
  std::reverse(b.ports.begin(), b.ports.end());
  EXPECT_EQ(render_nat_rules(a), render_nat_rules(b));
}

TEST(NatRules, DeclaresTheChainsAndCommits) {
  std::string out = render_nat_rules(sample());
  EXPECT_EQ(out.rfind("*nat\n", 0), 0u);
  EXPECT_NE(out.find("\n:RAIND-DNS - [0:0]\n"), std::string::npos);
  EXPECT_NE(out.find("\n:RAIND-POSTROUTING - [0:0]\n"), std::string::npos);
  EXPECT_NE(out.find("\n:RAIND-PUBLISH - [0:0]\n"), std::string::npos);
  EXPECT_TRUE(out.ends_with("\nCOMMIT\n"));
  // Never touches the built-in chains: --noflush would otherwise flush or append to them.
  for (const char* builtin : {"PREROUTING ", "OUTPUT ", "POSTROUTING ", "INPUT "}) {
    EXPECT_EQ(out.find(std::string(":") + builtin), std::string::npos) << builtin;
    EXPECT_EQ(out.find(std::string("-A ") + builtin), std::string::npos) << builtin;
  }
}

TEST(NatRules, UsesTheConfiguredSubnet) {
  NatInput in;
  in.runtime_subnet = "172.31.0.0/20";
  std::string out = render_nat_rules(in);
  EXPECT_NE(out.find("-A RAIND-POSTROUTING -s 172.31.0.0/20 ! -d 172.31.0.0/20 -j MASQUERADE\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(out.find("10.166."), std::string::npos) << out;
}

TEST(NatRules, EmptyHostIpMeansEveryAddress) {
  NatInput in;
  in.ports = {{"c1", "10.166.0.2", "raind0", "", 80, 80, "tcp"}};
  std::string out = render_nat_rules(in);
  EXPECT_NE(out.find("-A RAIND-PUBLISH -p tcp -m tcp --dport 80 "), std::string::npos) << out;
}

TEST(NatRules, Jumps) {
  auto jumps = nat_jumps();
  ASSERT_EQ(jumps.size(), 4u);
  auto joined = [](const Jump& j) {
    std::string s = "-A " + j.chain;
    for (const auto& a : j.spec) s += " " + a;
    return s;
  };
  EXPECT_EQ(joined(jumps[0]), "-A PREROUTING -j RAIND-DNS");
  EXPECT_EQ(joined(jumps[1]), "-A PREROUTING -m addrtype --dst-type LOCAL -j RAIND-PUBLISH");
  EXPECT_EQ(joined(jumps[2]),
            "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j RAIND-PUBLISH");
  EXPECT_EQ(joined(jumps[3]), "-A POSTROUTING -j RAIND-POSTROUTING");
}

TEST(NatRules, ValidateAcceptsTheSample) {
  auto s = validate_nat_input(sample());
  EXPECT_TRUE(s) << s.error().what();
  EXPECT_TRUE(validate_nat_input(NatInput{}));
}

TEST(NatRules, ValidateRejectsWhatWouldBreakThePayload) {
  auto rejects = [](auto mutate) {
    NatInput in = sample();
    mutate(in);
    auto s = validate_nat_input(in);
    return !s && s.error().code() == Errc::invalid_argument;
  };
  EXPECT_TRUE(rejects([](NatInput& in) { in.runtime_subnet = "10.166.0.0"; }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.runtime_subnet = "10.166.0.0/33"; }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.runtime_subnet = "10.166.0.0/16 -j ACCEPT"; }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.ports[0].protocol = "sctp"; }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.ports[0].protocol = "TCP"; }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.ports[0].container_ip = "10.166.0"; }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.ports[0].container_ip = "fd00::2"; }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.ports[0].host_ip = "localhost"; }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.ports[0].host_port = 0; }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.ports[0].container_port = 0; }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.ports[0].container_id = "x\" -j ACCEPT \""; }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.ports[0].container_id = "a\nCOMMIT"; }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.ports[0].container_id = ""; }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.dns_proxy = "10.166.254.254 -j ACCEPT"; }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.bridges.push_back("br0 -j ACCEPT"); }));
  EXPECT_TRUE(rejects([](NatInput& in) { in.bridges.push_back("a-name-longer-than-15"); }));
}

// DNS from every bridge (also one added later) goes to the proxy; none without a proxy.
TEST(NatRules, DnsOfEveryBridgeGoesToTheProxy) {
  NatInput in = sample();
  in.bridges.push_back("later");
  std::string out = render_nat_rules(in);
  for (const char* bridge : {"blue", "later", "raind0"})
    for (const char* proto : {"udp", "tcp"})
      EXPECT_NE(out.find(fmt::format("-A RAIND-DNS -i {} -p {} -m {} --dport 53 -j DNAT "
                                     "--to-destination 10.166.254.254:53\n",
                                     bridge, proto, proto)),
                std::string::npos)
          << out;
  in.dns_proxy.clear();
  EXPECT_EQ(render_nat_rules(in).find("-A RAIND-DNS"), std::string::npos);
}

TEST(NatRules, OneHairpinRulePerContainerPort) {
  NatInput in;
  in.ports = {{"c1", "10.166.0.2", "raind0", "0.0.0.0", 8080, 80, "tcp"},
              {"c1", "10.166.0.2", "raind0", "0.0.0.0", 8081, 80, "tcp"}};
  std::string out = render_nat_rules(in);
  const std::string hairpin =
      "-A RAIND-POSTROUTING -s 10.166.0.2/32 -d 10.166.0.2/32 -p tcp -m tcp --dport 80 -j "
      "MASQUERADE\n";
  auto first = out.find(hairpin);
  ASSERT_NE(first, std::string::npos) << out;
  EXPECT_EQ(out.find(hairpin, first + 1), std::string::npos) << out;
  EXPECT_NE(out.find("--dport 8080 "), std::string::npos);
  EXPECT_NE(out.find("--dport 8081 "), std::string::npos);
}

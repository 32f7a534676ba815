#include <gtest/gtest.h>

#include <set>

#include <fmt/core.h>

#include "condenser/network/ipam.hpp"

using namespace raind::condenser::network;
using raind::Errc;

namespace {

Ipv4 ip(const char* text) {
  return *parse_ipv4(text);
}

Ipam fresh() {
  auto ipam = Ipam::create();
  EXPECT_TRUE(ipam) << ipam.error().what();
  return std::move(*ipam);
}

}  // namespace

TEST(Ipam, StartsWithTheDefaultNetwork) {
  Ipam ipam = fresh();
  ASSERT_EQ(ipam.networks().size(), 1u);
  const Network* n = ipam.find_network("raind0");
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->subnet.to_string(), "10.166.0.0/24");
  EXPECT_EQ(format_ipv4(n->gateway), "10.166.0.254");
  EXPECT_EQ(n->gateway_cidr(), "10.166.0.254/24");
  EXPECT_TRUE(n->allocations.empty());
}

TEST(Ipam, AllocatesLowestFreeAddressAndReusesReleasedOnes) {
  Ipam ipam = fresh();
  EXPECT_EQ(format_ipv4(*ipam.allocate("raind0", "c1")), "10.166.0.1");
  EXPECT_EQ(format_ipv4(*ipam.allocate("raind0", "c2")), "10.166.0.2");
  EXPECT_EQ(format_ipv4(*ipam.allocate("raind0", "c3")), "10.166.0.3");
  EXPECT_EQ(ipam.release("c2"), 1u);
  EXPECT_EQ(ipam.release("c2"), 0u);  // idempotent for rollback paths
  EXPECT_EQ(format_ipv4(*ipam.allocate("raind0", "c4")), "10.166.0.2");
  auto found = ipam.find_allocation("c3");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->network, "raind0");
  EXPECT_EQ(format_ipv4(found->address), "10.166.0.3");
  EXPECT_FALSE(ipam.find_allocation("c2"));
}

TEST(Ipam, NeverHandsOutNetworkGatewayOrBroadcastAndReportsExhaustion) {
  Ipam ipam = fresh();
  std::set<Ipv4> seen;
  for (int i = 0; i < 253; ++i) {
    auto a = ipam.allocate("raind0", fmt::format("c{}", i));
    ASSERT_TRUE(a) << i << ": " << a.error().what();
    EXPECT_TRUE(seen.insert(*a).second);
  }
  EXPECT_FALSE(seen.contains(ip("10.166.0.0")));
  EXPECT_FALSE(seen.contains(ip("10.166.0.254")));
  EXPECT_FALSE(seen.contains(ip("10.166.0.255")));
  EXPECT_TRUE(seen.contains(ip("10.166.0.253")));
  auto full = ipam.allocate("raind0", "one-too-many");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code(), Errc::unavailable);
  EXPECT_NE(full.error().message().find("no free address"), std::string::npos);
}

TEST(Ipam, RejectsDuplicateContainerAndUnknownNetwork) {
  Ipam ipam = fresh();
  ASSERT_TRUE(ipam.allocate("raind0", "c1"));
  auto dup = ipam.allocate("raind0", "c1");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), Errc::already_exists);
  auto unknown = ipam.allocate("nope", "c2");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), Errc::not_found);
  EXPECT_NE(unknown.error().message().find("\"nope\""), std::string::npos);
  EXPECT_FALSE(ipam.allocate("raind0", ""));
}

TEST(Ipam, AllocateAddressClaimsExactlyThatAddress) {
  Ipam ipam = fresh();
  ASSERT_TRUE(ipam.allocate_address("raind0", "c9", ip("10.166.0.9")));
  EXPECT_TRUE(ipam.allocate_address("raind0", "c9", ip("10.166.0.9")));  // same owner: no-op
  EXPECT_EQ(ipam.allocate_address("raind0", "other", ip("10.166.0.9")).error().code(),
            Errc::already_exists);
  EXPECT_EQ(ipam.allocate_address("raind0", "c10", ip("10.166.0.254")).error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(ipam.allocate_address("raind0", "c10", ip("10.166.1.4")).error().code(),
            Errc::invalid_argument);
  EXPECT_EQ(format_ipv4(*ipam.allocate("raind0", "c1")), "10.166.0.1");
}

TEST(Ipam, NewNetworksTakeTheNextFreeSubnetAndSkipTheDnsProxyRange) {
  Ipam ipam = fresh();
  auto n1 = ipam.create_network("net1");
  ASSERT_TRUE(n1) << n1.error().what();
  EXPECT_EQ((*n1)->subnet.to_string(), "10.166.1.0/24");
  EXPECT_EQ((*n1)->gateway_cidr(), "10.166.1.254/24");
  ASSERT_TRUE(ipam.create_network("net2"));
  EXPECT_EQ(ipam.find_network("net2")->subnet.to_string(), "10.166.2.0/24");
  ASSERT_TRUE(ipam.remove_network("net1"));
  EXPECT_EQ((*ipam.create_network("net3"))->subnet.to_string(), "10.166.1.0/24");

  // Fill the /16: 256 /24s minus the reserved DNS one = 255 networks in all.
  std::set<std::string> subnets;
  for (const auto& n : ipam.networks()) subnets.insert(n.subnet.to_string());
  for (int i = 0; ipam.networks().size() < 255; ++i) {
    auto n = ipam.create_network(fmt::format("n{}", i));
    ASSERT_TRUE(n) << n.error().what();
    subnets.insert((*n)->subnet.to_string());
  }
  EXPECT_EQ(subnets.size(), 255u);
  EXPECT_FALSE(subnets.contains("10.166.254.0/24"));
  EXPECT_TRUE(subnets.contains("10.166.255.0/24"));
  auto full = ipam.create_network("last");
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code(), Errc::unavailable);
}

TEST(Ipam, NetworkCreateAndRemoveErrors) {
  Ipam ipam = fresh();
  EXPECT_EQ(ipam.create_network("raind0").error().code(), Errc::already_exists);
  EXPECT_EQ(ipam.create_network("bad/name").error().code(), Errc::invalid_argument);
  EXPECT_EQ(ipam.create_network("waytoolongbridge0").error().code(), Errc::invalid_argument);
  EXPECT_EQ(ipam.remove_network("ghost").error().code(), Errc::not_found);
  EXPECT_EQ(ipam.remove_network("raind0").error().code(), Errc::conflict);
  ASSERT_TRUE(ipam.create_network("busy"));
  ASSERT_TRUE(ipam.allocate("busy", "c1"));
  auto busy = ipam.remove_network("busy");
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code(), Errc::conflict);
  EXPECT_NE(busy.error().message().find("in use by 1"), std::string::npos);
  ipam.release("c1");
  EXPECT_TRUE(ipam.remove_network("busy"));
  EXPECT_EQ(ipam.find_network("busy"), nullptr);
}

TEST(Ipam, AllocationIsDeterministic) {
  auto run = [] {
    Ipam ipam = fresh();
    (void)ipam.create_network("a");
    (void)ipam.allocate("a", "x");
    (void)ipam.allocate("raind0", "y");
    (void)ipam.allocate("raind0", "z");
    ipam.release("y");
    (void)ipam.allocate("a", "w");
    return ipam.to_json().dump();
  };
  EXPECT_EQ(run(), run());
}

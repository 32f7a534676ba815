#include "raind/droplet/net_config.hpp"

#include <gtest/gtest.h>

namespace raind::droplet::net {
namespace {

constexpr std::string_view kGood = R"({
  "hostInterface": "eth0", "bridgeInterface": "raind0",
  "interface": {"name": "rd_0123456789ab", "ipv4": {"address": "10.166.0.7/24", "gateway": "10.166.0.254"}}
})";

TEST(NetConfig, ParsesAndDerivesStableMac) {
  auto cfg = parse_net_config(kGood);
  ASSERT_TRUE(cfg) << cfg.error().what();
  EXPECT_EQ(cfg->bridge_interface, "raind0");
  EXPECT_EQ(cfg->veth_name, "rd_0123456789ab");
  EXPECT_EQ(cfg->address.to_string(), "10.166.0.7/24");
  EXPECT_EQ(ipv4_to_string(cfg->gateway), "10.166.0.254");
  EXPECT_EQ(cfg->mtu, 1500u);
  EXPECT_EQ(mac_to_string(cfg->mac), "02:52:0a:a6:00:07");
  // Same address, same MAC: the MAC is a pure function of the IP.
  EXPECT_EQ(mac_from_ipv4(cfg->address.address), cfg->mac);
}

TEST(NetConfig, HonoursExplicitMtuAndMac) {
  auto cfg = parse_net_config(R"({"bridgeInterface":"br","interface":{"name":"rd_x","mtu":1400,
      "mac":"02:aa:bb:cc:dd:ee","ipv4":{"address":"192.168.5.2/30","gateway":"192.168.5.1"}}})");
  ASSERT_TRUE(cfg) << cfg.error().what();
  EXPECT_EQ(cfg->mtu, 1400u);
  EXPECT_EQ(mac_to_string(cfg->mac), "02:aa:bb:cc:dd:ee");
}

struct BadCase {
  const char* json;
  const char* expected;  // substring of the error
};

class NetConfigBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(NetConfigBad, RejectedWithPreciseMessage) {
  auto cfg = parse_net_config(GetParam().json);
  ASSERT_FALSE(cfg) << "accepted: " << GetParam().json;
  EXPECT_NE(cfg.error().what().find(GetParam().expected), std::string::npos)
      << "error was: " << cfg.error().what();
}

INSTANTIATE_TEST_SUITE_P(
    Annotations, NetConfigBad,
    ::testing::Values(
        BadCase{R"({"bridgeInterface":)", "invalid JSON at byte"},
        BadCase{R"([1,2])", "expected an object"},
        BadCase{R"({"interface":{}})", "bridgeInterface: required"},
        BadCase{R"({"bridgeInterface":"br","interface":{"ipv4":{}}})", "interface.name: required"},
        BadCase{
            R"({"bridgeInterface":"br","interface":{"name":"rd_this_name_is_too_long","ipv4":{}}})",
            "longer than 15 bytes"},
        BadCase{R"({"bridgeInterface":"b/r","interface":{"name":"rd_x","ipv4":{}}})",
                "invalid character"},
        BadCase{R"({"bridgeInterface":"br","interface":{"name":"rd_x"}})", "ipv4: required object"},
        BadCase{
            R"({"bridgeInterface":"br","interface":{"name":"rd_x","ipv4":{"address":"10.1.1.300/24","gateway":"10.1.1.1"}}})",
            "is not an IPv4 address"},
        BadCase{
            R"({"bridgeInterface":"br","interface":{"name":"rd_x","ipv4":{"address":"10.1.1.3","gateway":"10.1.1.1"}}})",
            "missing /prefix"},
        BadCase{
            R"({"bridgeInterface":"br","interface":{"name":"rd_x","ipv4":{"address":"10.1.1.3/33","gateway":"10.1.1.1"}}})",
            "invalid prefix length"},
        BadCase{
            R"({"bridgeInterface":"br","interface":{"name":"rd_x","ipv4":{"address":"10.1.1.3/24","gateway":"10.1.2.1"}}})",
            "is outside"},
        BadCase{
            R"({"bridgeInterface":"br","interface":{"name":"rd_x","ipv4":{"address":"10.1.1.3/24","gateway":"10.1.1.3"}}})",
            "equals the container address"},
        BadCase{
            R"({"bridgeInterface":"br","interface":{"name":"rd_x","mtu":20,"ipv4":{"address":"10.1.1.3/24","gateway":"10.1.1.1"}}})",
            "mtu: expected an integer"},
        BadCase{
            R"({"bridgeInterface":"br","interface":{"name":"rd_x","mac":"01:00:5e:00:00:01","ipv4":{"address":"10.1.1.3/24","gateway":"10.1.1.1"}}})",
            "multicast"},
        BadCase{
            R"({"bridgeInterface":"br","interface":{"name":"rd_x","mac":"zz","ipv4":{"address":"10.1.1.3/24","gateway":"10.1.1.1"}}})",
            "is not a MAC address"}));

TEST(NetConfig, CidrContainment) {
  auto cidr = parse_ipv4_cidr("10.166.0.0/16");
  ASSERT_TRUE(cidr);
  EXPECT_TRUE(cidr->contains(*parse_ipv4("10.166.254.254")));
  EXPECT_FALSE(cidr->contains(*parse_ipv4("10.167.0.1")));
}

}  // namespace
}  // namespace raind::droplet::net

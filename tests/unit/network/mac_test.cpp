#include <gtest/gtest.h>

#include "condenser/network/mac.hpp"

using namespace raind::condenser::network;

TEST(Mac, IsAStableLocallyAdministeredUnicastFunctionOfTheAddress) {
  auto mac = mac_for_ipv4(*parse_ipv4("10.166.0.1"));
  EXPECT_EQ(format_mac(mac), "02:52:0a:a6:00:01");
  EXPECT_EQ(mac[0] & 0x02, 0x02);  // locally administered
  EXPECT_EQ(mac[0] & 0x01, 0x00);  // unicast
  EXPECT_EQ(mac_for_ipv4(*parse_ipv4("10.166.0.1")), mac);
  EXPECT_NE(mac_for_ipv4(*parse_ipv4("10.166.0.2")), mac);
  EXPECT_EQ(format_mac(mac_for_ipv4(*parse_ipv4("10.166.12.253"))), "02:52:0a:a6:0c:fd");
}

#include <gtest/gtest.h>

#include "condenser/network/ipv4.hpp"

using namespace raind::condenser::network;
using raind::Errc;

TEST(Ipv4, ParsesAndFormatsDottedQuads) {
  auto a = parse_ipv4("10.166.0.254");
  ASSERT_TRUE(a) << a.error().what();
  EXPECT_EQ(*a, 0x0aa600feu);
  EXPECT_EQ(format_ipv4(*a), "10.166.0.254");
  EXPECT_EQ(format_ipv4(0), "0.0.0.0");
  EXPECT_EQ(*parse_ipv4("255.255.255.255"), 0xffffffffu);
}

TEST(Ipv4, RejectsShorthandLeadingZerosAndJunk) {
  for (const char* bad : {"", "10.1", "10.166.0", "10.166.0.1.", "010.1.1.1", "256.0.0.1",
                          "1.2.3.4 ", " 1.2.3.4", "1.2.3.-4", "a.b.c.d", "1..2.3"}) {
    auto r = parse_ipv4(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Errc::invalid_argument);
  }
}

TEST(Ipv4, SubnetArithmetic) {
  auto s = parse_subnet("10.166.3.0/24");
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->to_string(), "10.166.3.0/24");
  EXPECT_EQ(format_ipv4(s->broadcast()), "10.166.3.255");
  EXPECT_EQ(s->size(), 256u);
  EXPECT_TRUE(s->contains(*parse_ipv4("10.166.3.77")));
  EXPECT_FALSE(s->contains(*parse_ipv4("10.166.4.1")));
  auto big = *parse_subnet("10.166.0.0/16");
  EXPECT_TRUE(big.contains(*s));
  EXPECT_FALSE(s->contains(big));
  EXPECT_TRUE(big.overlaps(*s));
  EXPECT_TRUE(s->overlaps(big));
  EXPECT_FALSE(s->overlaps(*parse_subnet("10.166.4.0/24")));
  EXPECT_EQ(parse_subnet("0.0.0.0/0")->size(), std::uint64_t{1} << 32);
}

TEST(Ipv4, SubnetRejectsHostBitsAndBadPrefixes) {
  auto host_bits = parse_subnet("10.166.0.1/24");
  ASSERT_FALSE(host_bits);
  EXPECT_NE(host_bits.error().message().find("10.166.0.0/24"), std::string::npos);
  for (const char* bad :
       {"10.166.0.0", "10.166.0.0/", "10.166.0.0/33", "10.166.0.0/2x", "10.166.0.0/-1"})
    EXPECT_FALSE(parse_subnet(bad)) << bad;
}

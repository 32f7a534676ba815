#include <gtest/gtest.h>

#include <thread>

#include "condenser/identity/identity.hpp"

namespace raind::condenser::identity {
namespace {

TEST(Identity, LooksUpByAddressAndMac) {
  Directory d;
  EXPECT_EQ(d.current()->by_ip("10.166.0.2"), nullptr);
  d.publish(
      {{"abc", "web", "spiffe://raind/container/abc", "rd_abc", "10.166.0.2", "02:42:0a:a6:00:02"}},
      {*parse_ipv4_net("10.166.0.0/24")});
  auto s = d.current();
  ASSERT_NE(s->by_ip("10.166.0.2"), nullptr);
  EXPECT_EQ(s->by_ip("10.166.0.2")->name, "web");
  EXPECT_EQ(s->by_mac("02:42:0a:a6:00:02")->id, "abc");
  EXPECT_EQ(s->by_ip("10.166.0.3"), nullptr);
  EXPECT_TRUE(s->in_container_networks("10.166.0.3"));
  EXPECT_FALSE(s->in_container_networks("10.166.1.3"));
  EXPECT_FALSE(s->in_container_networks("not-an-ip"));
  EXPECT_EQ(d.generation(), 1u);
}

TEST(Identity, ParsesNetworksStrictly) {
  EXPECT_TRUE(parse_ipv4_net("10.166.0.0/16"));
  EXPECT_TRUE(parse_ipv4_net("10.166.0.1"));  // a host
  EXPECT_FALSE(parse_ipv4_net("10.166.0.0/33"));
  EXPECT_FALSE(parse_ipv4_net("10.166.0.0/"));
  EXPECT_FALSE(parse_ipv4_net("10.166.0/16"));
  EXPECT_FALSE(parse_ipv4_net("10.166.0.0/16x"));
  auto any = parse_ipv4_net("0.0.0.0/0");
  ASSERT_TRUE(any);
  EXPECT_TRUE(any->contains(*parse_ipv4("203.0.113.9")));
}

// Readers keep the snapshot they took while a writer publishes new ones.
TEST(Identity, ReadersKeepTheirSnapshotWhileWritersPublish) {
  Directory d;
  d.publish({{"a", "a", "", "", "10.166.0.2", ""}}, {});
  auto held = d.current();
  std::thread writer([&] {
    for (int i = 0; i < 1000; ++i)
      d.publish({{"b", "b", "", "", "10.166.0." + std::to_string(3 + i % 200), ""}}, {});
  });
  for (int i = 0; i < 1000; ++i) ASSERT_NE(d.current(), nullptr);
  writer.join();
  EXPECT_EQ(held->by_ip("10.166.0.2")->id, "a");
  EXPECT_EQ(d.generation(), 1001u);
}

// Inside a bottle, "<svc>" and "<svc>.<bottle>" name its containers; outside, nothing.
TEST(Identity, BottleServiceNamesResolveOnlyInsideTheirBottle) {
  Snapshot s({{"a", "shop-web", "", "", "10.166.1.2", "", "shop"},
              {"b", "shop-db", "", "", "10.166.1.3", "", "shop"},
              {"c", "blog-db", "", "", "10.166.2.3", "", "blog"},
              {"d", "loner", "", "", "10.166.0.9", "", ""}},
             {});
  EXPECT_EQ(resolve_bottle_service(s, "10.166.1.2", "db"), "10.166.1.3");
  EXPECT_EQ(resolve_bottle_service(s, "10.166.1.2", "db."), "10.166.1.3");
  EXPECT_EQ(resolve_bottle_service(s, "10.166.1.2", "DB.Shop."), "10.166.1.3");
  EXPECT_EQ(resolve_bottle_service(s, "10.166.1.2", "web.shop"), "10.166.1.2");
  EXPECT_EQ(resolve_bottle_service(s, "10.166.1.2", "db.blog"), std::nullopt);
  EXPECT_EQ(resolve_bottle_service(s, "10.166.2.3", "web"), std::nullopt);
  EXPECT_EQ(resolve_bottle_service(s, "10.166.0.9", "db"), std::nullopt);
  EXPECT_EQ(resolve_bottle_service(s, "10.166.9.9", "db"), std::nullopt);
  EXPECT_EQ(resolve_bottle_service(s, "10.166.1.2", "db.example.com."), std::nullopt);
  EXPECT_EQ(resolve_bottle_service(s, "10.166.1.2", ""), std::nullopt);
}

}  // namespace
}  // namespace raind::condenser::identity

#include <gtest/gtest.h>

#include "condenser/bottle/order.hpp"

namespace raind::condenser::bottle {
namespace {

using Names = std::vector<std::string>;

TEST(BottleOrder, DependenciesFirstTiesInNameOrder) {
  DependencyGraph graph{{"web", {"db", "cache"}}, {"db", {}}, {"cache", {}},
                        {"worker", {"db"}},       {"a", {}},  {"z", {"web"}}};
  auto order = start_order(graph);
  ASSERT_TRUE(order) << order.error().what();
  EXPECT_EQ(*order, (Names{"a", "cache", "db", "web", "worker", "z"}));
}

TEST(BottleOrder, ReadyServicesAreTakenSmallestFirstAsTheyBecomeReady) {
  // "b" becomes ready after "c" started; it must still run before "d" (smaller name).
  DependencyGraph graph{{"c", {}}, {"b", {"c"}}, {"d", {}}, {"e", {"b", "d"}}};
  auto order = start_order(graph);
  ASSERT_TRUE(order);
  EXPECT_EQ(*order, (Names{"c", "b", "d", "e"}));
}

TEST(BottleOrder, ChainAndEmptyGraph) {
  auto chain = start_order({{"a", {"b"}}, {"b", {"c"}}, {"c", {}}});
  ASSERT_TRUE(chain);
  EXPECT_EQ(*chain, (Names{"c", "b", "a"}));
  auto empty = start_order({});
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
}

TEST(BottleOrder, RepeatedRunsGiveTheSameOrder) {
  DependencyGraph graph;
  for (char c = 'a'; c <= 'z'; ++c) graph[std::string(1, c)] = {};
  graph["m"] = {"x", "b"};
  graph["q"] = {"m"};
  auto first = start_order(graph);
  ASSERT_TRUE(first);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(*start_order(graph), *first);
}

TEST(BottleOrder, UnknownAndSelfDependencies) {
  auto unknown = start_order({{"a", {"ghost"}}});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code(), Errc::invalid_argument);
  EXPECT_EQ(unknown.error().message(),
            "invalid dependency: service 'a' depends on unknown service 'ghost'");
  auto self = start_order({{"a", {"a"}}});
  ASSERT_FALSE(self);
  EXPECT_EQ(self.error().message(), "invalid dependency: service 'a' depends on itself");
}

TEST(BottleOrder, CycleIsNamedFromItsSmallestService) {
  auto order = start_order({{"c", {"a"}}, {"a", {"b"}}, {"b", {"c"}}, {"d", {}}});
  ASSERT_FALSE(order);
  EXPECT_EQ(order.error().message(), "invalid dependency: dependency cycle: a -> b -> c -> a");

  auto cycle = find_cycle({{"x", {"y"}}, {"y", {"x"}}, {"root", {"x"}}});
  ASSERT_TRUE(cycle);
  EXPECT_EQ(*cycle, (Names{"x", "y", "x"}));
  EXPECT_EQ(format_cycle(*cycle), "x -> y -> x");
  EXPECT_FALSE(find_cycle({{"a", {"b"}}, {"b", {}}, {"c", {"a", "b"}}}));
  // Diamond: shared dependencies are not cycles.
  EXPECT_FALSE(find_cycle({{"top", {"l", "r"}}, {"l", {"base"}}, {"r", {"base"}}, {"base", {}}}));
  auto self = find_cycle({{"a", {"a"}}});
  ASSERT_TRUE(self);
  EXPECT_EQ(format_cycle(*self), "a -> a");
}

}  // namespace
}  // namespace raind::condenser::bottle

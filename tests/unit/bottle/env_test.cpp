#include <gtest/gtest.h>

#include "condenser/bottle/env.hpp"

namespace raind::condenser::bottle {
namespace {

using Env = std::vector<std::string>;

TEST(BottleEnv, DependencyNamesBecomeAddresses) {
  Service wp;
  wp.env = {"WORDPRESS_DB_HOST=db:3306",
            "WORDPRESS_DB_USER=wordpress",
            "CACHE=cache",
            "URL=http://db:80",
            "OTHER=dbx:1",
            "PLAIN=db:",
            "EMPTY=",
            "EQ=a=b"};
  wp.depends_on = {{"cache", DependencyCondition::service_started},
                   {"db", DependencyCondition::service_healthy}};
  auto env = resolve_env(wp, {{"db", "10.166.1.1"}, {"cache", "10.166.1.2"}});
  ASSERT_TRUE(env) << env.error().what();
  EXPECT_EQ(*env, (Env{"WORDPRESS_DB_HOST=10.166.1.1:3306", "WORDPRESS_DB_USER=wordpress",
                       "CACHE=10.166.1.2", "URL=http://db:80", "OTHER=dbx:1",
                       "PLAIN=10.166.1.1:", "EMPTY=", "EQ=a=b"}));
}

TEST(BottleEnv, OnlyListedDependenciesAreSubstituted) {
  // "db" has an address but is not a dependency of this service: left alone.
  auto env = resolve_env(Env{"HOST=db:3306", "C=cache"}, {{"cache", {}}},
                         {{"db", "10.0.0.5"}, {"cache", "10.0.0.6"}});
  ASSERT_TRUE(env);
  EXPECT_EQ(*env, (Env{"HOST=db:3306", "C=10.0.0.6"}));
}

TEST(BottleEnv, KeysAreNeverRewritten) {
  auto env = resolve_env(Env{"db=x", "db:1=y"}, {{"db", {}}}, {{"db", "10.0.0.5"}});
  ASSERT_TRUE(env);
  EXPECT_EQ(*env, (Env{"db=x", "db:1=y"}));
}

TEST(BottleEnv, NoDependenciesOrNoEnvIsACopy) {
  auto env = resolve_env(Env{"A=db"}, {}, {{"db", "10.0.0.5"}});
  ASSERT_TRUE(env);
  EXPECT_EQ(*env, Env{"A=db"});
  auto none = resolve_env(Env{}, {{"db", {}}}, {{"db", "10.0.0.5"}});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST(BottleEnv, MissingAddressIsAnErrorOnlyWhenNeeded) {
  auto unused = resolve_env(Env{"A=b"}, {{"db", {}}}, {});
  ASSERT_TRUE(unused);
  auto needed = resolve_env(Env{"HOST=db:3306"}, {{"db", {}}}, {});
  ASSERT_FALSE(needed);
  EXPECT_EQ(needed.error().code(), Errc::not_found);
  EXPECT_NE(needed.error().message().find("'db'"), std::string::npos);
}

}  // namespace
}  // namespace raind::condenser::bottle

#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "condenser/containers/naming.hpp"
#include "raind/ulid.hpp"

using namespace raind::condenser::containers;
using raind::Errc;

TEST(ContainerId, IsTheLowerCasedFirstTwelveUlidCharacters) {
  std::string ulid = raind::encode_ulid(1700000000000, 0xabcd, 0x123456789abcdefULL);
  auto id = container_id_from_ulid(ulid);
  ASSERT_TRUE(id) << id.error().what();
  ASSERT_EQ(id->size(), 12u);
  for (std::size_t i = 0; i < 12; ++i)
    EXPECT_EQ((*id)[i], static_cast<char>(std::tolower(static_cast<unsigned char>(ulid[i]))));
  EXPECT_TRUE(is_container_id(*id));
  EXPECT_FALSE(container_id_from_ulid("not-a-ulid"));
}

TEST(ContainerId, FreshIdsAreValidAndDistinct) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    std::string id = new_container_id();
    EXPECT_TRUE(is_container_id(id)) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);
  EXPECT_FALSE(is_container_id("01KG2CNF0YTV"));  // upper case
  EXPECT_FALSE(is_container_id("01kg2cnf0yt"));   // short
  EXPECT_FALSE(is_container_id("01kg2cnf0ytu"));  // 'u' is not Crockford
}

TEST(ContainerName, Validation) {
  for (const char* good : {"a", "web", "Web_1.2-x", "0abc"})
    EXPECT_TRUE(validate_container_name(good)) << good;
  EXPECT_TRUE(validate_container_name(std::string(63, 'a')));
  for (const char* bad : {"", "-web", "_web", ".web", "we b", "we/b", "we:b", "wé"}) {
    auto s = validate_container_name(bad);
    ASSERT_FALSE(s) << bad;
    EXPECT_EQ(s.error().code(), Errc::invalid_argument);
  }
  EXPECT_NE(validate_container_name(std::string(64, 'a')).error().message().find("longer than 63"),
            std::string::npos);
}

TEST(ContainerName, DefaultNamesHaveTheDocumentedShape) {
  EXPECT_GE(adjective_count(), 50u);
  EXPECT_GE(noun_count(), 50u);
  std::regex shape("[a-z]+-[a-z]+-[0-9]{4}");
  std::set<std::string> names;
  for (std::size_t a = 0; a < adjective_count(); ++a) {
    for (std::size_t n = 0; n < noun_count(); ++n) {
      std::string name = default_name(a, n, 7);
      EXPECT_TRUE(std::regex_match(name, shape)) << name;
      EXPECT_TRUE(validate_container_name(name)) << name;
      names.insert(name);
    }
  }
  EXPECT_EQ(names.size(), adjective_count() * noun_count());  // no duplicate words
  EXPECT_TRUE(default_name(0, 0, 7).ends_with("-0007"));
  EXPECT_TRUE(default_name(0, 0, 12345).ends_with("-2345"));
}

TEST(ContainerName, GenerationSkipsTakenNamesAndGivesUp) {
  std::uint32_t counter = 0;
  auto sequence = [&counter] { return counter++; };
  std::string first = default_name(0, 1, 2);
  auto name = generate_name([&](std::string_view n) { return n == first; }, sequence);
  ASSERT_TRUE(name) << name.error().what();
  EXPECT_EQ(*name, default_name(3, 4, 5));

  auto none = generate_name([](std::string_view) { return true; }, sequence);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), Errc::unavailable);

  auto random = generate_name([](std::string_view) { return false; });
  ASSERT_TRUE(random);
  EXPECT_TRUE(validate_container_name(*random));
}

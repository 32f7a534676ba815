#include <gtest/gtest.h>

#include "condenser/containers/user_spec.hpp"

using namespace raind::condenser::containers;

namespace {

const AccountFiles kFiles{
    "root:x:0:0:root:/root:/bin/sh\n# comment\nwww-data:x:33:34:www:/var/www:/bin/false\n"
    "app:x:1000:1001::/home/app:/bin/sh\n",
    "root:x:0:\nwww:x:34:\nstaff:x:50:app\n"};

}  // namespace

TEST(UserSpec, ResolvesNumericAndNamedUsers) {
  EXPECT_EQ(*resolve_user("", kFiles), (UserIds{0, 0}));
  EXPECT_EQ(*resolve_user("1000", kFiles), (UserIds{1000, 1001}));  // primary gid from passwd
  EXPECT_EQ(*resolve_user("4242", kFiles), (UserIds{4242, 0}));
  EXPECT_EQ(*resolve_user("4242:7", kFiles), (UserIds{4242, 7}));
  EXPECT_EQ(*resolve_user("www-data", kFiles), (UserIds{33, 34}));
  EXPECT_EQ(*resolve_user("app:staff", kFiles), (UserIds{1000, 50}));
  EXPECT_EQ(*resolve_user("33:staff", kFiles), (UserIds{33, 50}));
  EXPECT_EQ(*resolve_user("5", AccountFiles{}), (UserIds{5, 0}));
}

TEST(UserSpec, ReportsWhatCannotBeResolved) {
  EXPECT_NE(resolve_user("nobody", kFiles).error().message().find("no user \"nobody\""),
            std::string::npos);
  EXPECT_NE(resolve_user("app:wheel", kFiles).error().message().find("no group \"wheel\""),
            std::string::npos);
  EXPECT_NE(resolve_user("app", AccountFiles{}).error().message().find("no /etc/passwd"),
            std::string::npos);
  EXPECT_FALSE(resolve_user(":5", kFiles));
  EXPECT_FALSE(resolve_user("5:", kFiles));
  EXPECT_FALSE(resolve_user("99999999999", kFiles));  // overflows uid_t: treated as a name
}

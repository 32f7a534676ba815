#include <gtest/gtest.h>

#include "condenser/network/network_name.hpp"

using namespace raind::condenser::network;

TEST(NetworkName, AcceptsBridgeNames) {
  for (const char* good : {"raind0", "a", "my_net.1-x", "ABCDEFGHIJKLMNO", "raind.test"})
    EXPECT_TRUE(validate_network_name(good)) << good;
}

TEST(NetworkName, RejectsWhatCannotBeAnInterfaceOrCollides) {
  struct Case {
    const char* name;
    const char* says;
  };
  for (const auto& c : std::initializer_list<Case>{{"", "empty"},
                                                   {"ABCDEFGHIJKLMNOP", "16 characters"},
                                                   {"br/0", "invalid character"},
                                                   {"br 0", "invalid character"},
                                                   {"br:0", "invalid character"},
                                                   {"brü", "invalid character"},
                                                   {".", "reserved"},
                                                   {"..", "reserved"},
                                                   {"-br", "'-'"},
                                                   {"rd_0123456789", "container veths"}}) {
    auto s = validate_network_name(c.name);
    ASSERT_FALSE(s) << c.name;
    EXPECT_EQ(s.error().code(), raind::Errc::invalid_argument);
    EXPECT_NE(s.error().message().find(c.says), std::string::npos) << s.error().message();
  }
}

#include <gtest/gtest.h>

#include "condenser/containers/etc_files.hpp"

using namespace raind::condenser::containers;

TEST(EtcFiles, GeneratesHostsHostnameAndResolvConf) {
  EXPECT_EQ(hosts_file("10.166.0.3", "01kg2cnf0ytv", {"web", "01kg2cnf0ytv"}),
            "127.0.0.1\tlocalhost\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
            "10.166.0.3\t01kg2cnf0ytv web\n");
  EXPECT_EQ(hosts_file("", "x"),
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
  EXPECT_EQ(hostname_file("01kg2cnf0ytv"), "01kg2cnf0ytv\n");
  EXPECT_EQ(resolv_conf_file({"10.166.0.254"}), "nameserver 10.166.0.254\n");
  EXPECT_EQ(resolv_conf_file({"10.166.0.254", "1.1.1.1"}, {"raind.internal"}),
            "search raind.internal\nnameserver 10.166.0.254\nnameserver 1.1.1.1\n");
}

TEST(EtcFiles, ValidatesHostnames) {
  for (const char* good : {"01kg2cnf0ytv", "web-1", "a.b.c", "A1"})
    EXPECT_TRUE(validate_hostname(good)) << good;
  for (const char* bad : {"", "-web", "web-", "a..b", "web_1", "we b", ".a", "a."})
    EXPECT_FALSE(validate_hostname(bad)) << bad;
  EXPECT_TRUE(validate_hostname(std::string(63, 'a')));
  EXPECT_FALSE(validate_hostname(std::string(64, 'a')));
  EXPECT_FALSE(validate_hostname(std::string(40, 'a') + "." + std::string(30, 'b')));
}

#include <gtest/gtest.h>

#include "condenser/containers/port_spec.hpp"

using namespace raind::condenser::containers;
using raind::Errc;

TEST(PortSpec, AcceptsEveryDocumentedForm) {
  struct Case {
    const char* text;
    PortSpec want;
  };
  for (const auto& c : std::initializer_list<Case>{
           {"8080:80", {"0.0.0.0", 8080, 80, Protocol::tcp}},
           {"8080:80/tcp", {"0.0.0.0", 8080, 80, Protocol::tcp}},
           {"53:5353/udp", {"0.0.0.0", 53, 5353, Protocol::udp}},
           {"127.0.0.1:8080:80", {"127.0.0.1", 8080, 80, Protocol::tcp}},
           {"192.168.1.5:9000:90/udp", {"192.168.1.5", 9000, 90, Protocol::udp}},
           {"8080:80:tcp", {"0.0.0.0", 8080, 80, Protocol::tcp}},
           {"5000:5001:udp", {"0.0.0.0", 5000, 5001, Protocol::udp}},
           {"65535:1", {"0.0.0.0", 65535, 1, Protocol::tcp}},
       }) {
    auto p = parse_port_spec(c.text);
    ASSERT_TRUE(p) << c.text << ": " << p.error().what();
    EXPECT_EQ(*p, c.want) << c.text;
  }
  EXPECT_EQ(parse_port_spec("8080:80/udp")->to_string(), "0.0.0.0:8080->80/udp");
}

TEST(PortSpec, RejectsBadSpecsWithPreciseMessages) {
  struct Case {
    const char* text;
    const char* says;
  };
  for (const auto& c : std::initializer_list<Case>{
           {"", "empty"},
           {"8080", "expected host:ctr"},
           {"1:2:3:4", "expected host:ctr"},
           {":80", "host port is empty"},
           {"8080:", "container port is empty"},
           {"0:80", "outside 1..65535"},
           {"8080:65536", "outside 1..65535"},
           {"http:80", "host port \"http\" is not a number"},
           {"8080:80/sctp", "unknown protocol \"sctp\""},
           {"8080:80:icmp", "unknown protocol \"icmp\""},
           {"8080:80:tcp/udp", "protocol given twice"},
           {"8000-8010:80", "ranges are not supported"},
           {"8000:80-90/tcp", "ranges are not supported"},
           {"300.1.1.1:80:80", "not an IPv4 address"},
           {"[::1]:80:80", "IPv6"},
           {"+80:80", "not a number"},
       }) {
    auto p = parse_port_spec(c.text);
    ASSERT_FALSE(p) << c.text;
    EXPECT_EQ(p.error().code(), Errc::invalid_argument) << c.text;
    EXPECT_NE(p.error().message().find(c.says), std::string::npos)
        << c.text << ": " << p.error().message();
  }
}

TEST(PortSpec, DetectsConflictsWithinOneRequest) {
  EXPECT_TRUE(parse_port_specs({"8080:80", "8081:80", "8080:80/udp"}));
  auto dup = parse_port_specs({"8080:80", "127.0.0.1:8080:81"});
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), Errc::conflict);
  EXPECT_NE(dup.error().message().find("8080/tcp is published twice"), std::string::npos);
  EXPECT_TRUE(parse_port_specs({"127.0.0.1:8080:80", "127.0.0.2:8080:80"}));
  EXPECT_FALSE(ports_conflict(*parse_port_spec("1:2/tcp"), *parse_port_spec("1:2/udp")));
}

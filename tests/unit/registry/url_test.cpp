#include <gtest/gtest.h>

#include "condenser/registry/url.hpp"

namespace raind::condenser::registry {
namespace {

TEST(Url, ParsesSchemesHostsPortsAndTargets) {
  auto u = parse_url("https://auth.docker.io/token?service=registry.docker.io");
  ASSERT_TRUE(u) << u.error().what();
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "auth.docker.io");
  EXPECT_EQ(u->port, "443");
  EXPECT_EQ(u->target, "/token?service=registry.docker.io");
  EXPECT_EQ(u->origin(), "https://auth.docker.io");

  auto local = parse_url("HTTP://127.0.0.1:5001");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->scheme, "http");
  EXPECT_EQ(local->port, "5001");
  EXPECT_EQ(local->target, "/");
  EXPECT_EQ(local->authority(), "127.0.0.1:5001");

  auto v6 = parse_url("http://[::1]:8080/v2/#frag");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->authority(), "[::1]:8080");
  EXPECT_EQ(v6->target, "/v2/");
}

TEST(Url, RejectsWhatIsNotAnAbsoluteHttpUrl) {
  for (const char* bad :
       {"", "/relative", "ftp://host/x", "https://", "https://:443/", "https://user:pw@host/",
        "http://host:99999/", "http://host:x/", "http://[::1/"}) {
    auto r = parse_url(bad);
    EXPECT_FALSE(r) << bad;
  }
}

TEST(Url, ResolvesRedirectLocations) {
  auto base = *parse_url("https://registry.example:5000/v2/a/blobs/sha256:00");
  EXPECT_EQ(resolve_url(base, "https://s3.example/bucket/obj?sig=1")->to_string(),
            "https://s3.example/bucket/obj?sig=1");
  EXPECT_EQ(resolve_url(base, "//cdn.example/x")->to_string(), "https://cdn.example/x");
  EXPECT_EQ(resolve_url(base, "/v2/b/blobs/x")->to_string(),
            "https://registry.example:5000/v2/b/blobs/x");
  EXPECT_EQ(resolve_url(base, "other")->to_string(),
            "https://registry.example:5000/v2/a/blobs/other");
  EXPECT_FALSE(resolve_url(base, ""));
}

TEST(Url, BuildsQueriesWithEscaping) {
  EXPECT_EQ(percent_encode("repository:library/busybox:pull"),
            "repository%3Alibrary%2Fbusybox%3Apull");
  EXPECT_EQ(with_query("/token", {{"service", "a b"}, {"scope", "x"}}),
            "/token?service=a%20b&scope=x");
  EXPECT_EQ(with_query("/token?realm=1", {{"scope", "y"}}), "/token?realm=1&scope=y");
}

}  // namespace
}  // namespace raind::condenser::registry

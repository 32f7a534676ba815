#include <gtest/gtest.h>

#include "condenser/registry/auth.hpp"

namespace raind::condenser::registry {
namespace {

TEST(WwwAuthenticate, BearerChallengeAsDockerHubSendsIt) {
  auto c = parse_www_authenticate(
      R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull")");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].scheme, "bearer");
  EXPECT_EQ(c[0].param("realm"), "https://auth.docker.io/token");
  EXPECT_EQ(c[0].param("service"), "registry.docker.io");
  EXPECT_EQ(c[0].param("scope"), "repository:library/busybox:pull");
}

TEST(WwwAuthenticate, SeveralChallengesQuotingAndCase) {
  auto c = parse_www_authenticate(
      R"(Basic realm="raind registry", BEARER Realm=http://t/token, error="insufficient_scope", scope="a\"b")");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].scheme, "basic");
  EXPECT_EQ(c[0].param("realm"), "raind registry");
  EXPECT_EQ(c[1].scheme, "bearer");
  EXPECT_EQ(c[1].param("realm"), "http://t/token");
  EXPECT_EQ(c[1].param("error"), "insufficient_scope");
  EXPECT_EQ(c[1].param("scope"), "a\"b");
}

TEST(WwwAuthenticate, GarbageGivesNothingUsefulButNoCrash) {
  EXPECT_TRUE(parse_www_authenticate("").empty());
  EXPECT_TRUE(parse_www_authenticate("=== ,,,").empty());
  auto c = parse_www_authenticate(R"(Bearer realm="unterminated)");
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].param("realm"), "unterminated");
}

TEST(TokenResponse, TokenOrAccessTokenAndExpiry) {
  auto both = parse_token_response(R"({"token":"t1","access_token":"t1","expires_in":300})");
  ASSERT_TRUE(both);
  EXPECT_EQ(both->token, "t1");
  EXPECT_EQ(both->expires_in, std::chrono::seconds(300));
  auto oauth = parse_token_response(R"({"access_token":"t2"})");
  ASSERT_TRUE(oauth);
  EXPECT_EQ(oauth->token, "t2");
  EXPECT_EQ(oauth->expires_in, std::chrono::seconds(60)) << "the distribution spec's default";
  for (const char* bad : {"", "[]", "{}", R"({"token":""})", R"({"token":5})", "not json"})
    EXPECT_FALSE(parse_token_response(bad)) << bad;
}

TEST(Base64, RoundTripsAndRejectsBadInput) {
  EXPECT_EQ(base64_encode("raind:raindpass"), "cmFpbmQ6cmFpbmRwYXNz");
  for (const std::string& s :
       std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\0\xff", 2)})
    EXPECT_EQ(*base64_decode(base64_encode(s)), s);
  EXPECT_FALSE(base64_decode("abc"));
  EXPECT_FALSE(base64_decode("a$c="));
  EXPECT_EQ(basic_authorization({"u", "p"}), "Basic dTpw");
}

TEST(CredentialStore, ReadsDockerConfigAndItsAliases) {
  auto store = CredentialStore::parse(R"({
    "auths": {
      "https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
      "registry.example:5000": {"username": "u", "password": "p"},
      "https://quay.io/v2/": {"auth": "cTpx"}
    },
    "credsStore": "desktop"
  })",
                                      "config.json");
  ASSERT_TRUE(store) << store.error().what();
  for (const char* hub : {"docker.io", "registry-1.docker.io", "index.docker.io"}) {
    auto c = store->find(hub);
    ASSERT_TRUE(c) << hub;
    EXPECT_EQ(*c, (Credentials{"hub", "secret"}));
  }
  EXPECT_EQ(*store->find("registry.example:5000"), (Credentials{"u", "p"}));
  EXPECT_EQ(*store->find("quay.io"), (Credentials{"q", "q"}));
  EXPECT_FALSE(store->find("registry.example"));
  EXPECT_FALSE(store->find("other.example"));
}

TEST(CredentialStore, SetEraseAndKeepUnknownKeys) {
  auto store = CredentialStore::parse(R"({"credsStore":"desktop"})", "x");
  ASSERT_TRUE(store);
  store->set("registry-1.docker.io", {"me", "pw:with:colons"});
  store->set("127.0.0.1:5000", {"a", "b"});
  auto text = store->serialize();
  EXPECT_NE(text.find("https://index.docker.io/v1/"), std::string::npos) << text;
  EXPECT_NE(text.find("credsStore"), std::string::npos) << text;
  auto reread = CredentialStore::parse(text, "x");
  ASSERT_TRUE(reread);
  EXPECT_EQ(*reread->find("docker.io"), (Credentials{"me", "pw:with:colons"}));
  EXPECT_TRUE(reread->erase("docker.io"));
  EXPECT_FALSE(reread->erase("docker.io"));
  EXPECT_FALSE(reread->find("docker.io"));
  EXPECT_TRUE(reread->find("127.0.0.1:5000"));
}

TEST(CredentialStore, MalformedFilesAreNamedErrors) {
  EXPECT_TRUE(CredentialStore::parse("", "empty.json")) << "an empty file is an empty store";
  for (const char* bad :
       {"[]", R"({"auths": []})", R"({"auths": {"r": 1}})", R"({"auths": {"r": {"auth": "!!!!"}}})",
        R"({"auths": {"r": {"auth": "bm9jb2xvbg=="}}})", "{"}) {
    auto r = CredentialStore::parse(bad, "/etc/raind/auth.json");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().what().find("/etc/raind/auth.json"), std::string::npos) << r.error().what();
  }
}

}  // namespace
}  // namespace raind::condenser::registry

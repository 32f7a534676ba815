#include <gtest/gtest.h>

#include "condenser/registry/client.hpp"
#include "condenser/registry/pull.hpp"

namespace raind::condenser::registry {
namespace {

TEST(Platform, ParsesOsArchVariant) {
  auto p = parse_platform("linux/arm/v7");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->os, "linux");
  EXPECT_EQ(p->architecture, "arm");
  EXPECT_EQ(p->variant, "v7");
  auto arch_only = parse_platform("arm64");
  ASSERT_TRUE(arch_only);
  EXPECT_EQ(arch_only->to_string(), "linux/arm64");
  for (const char* bad : {"", "linux/", "/amd64", "a/b/c/d", "Linux/AMD64", "linux/amd 64"})
    EXPECT_FALSE(parse_platform(bad)) << bad;
}

TEST(Headers, MediaTypeAndContentRange) {
  EXPECT_EQ(media_type_of("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
            "application/vnd.oci.image.manifest.v1+json");
  EXPECT_EQ(media_type_of("application/json"), "application/json");
  EXPECT_EQ(content_range_start("bytes 65536-1418593/1418594"), 65536u);
  EXPECT_EQ(content_range_start("bytes 0-9/*"), 0u);
  EXPECT_FALSE(content_range_start("items 1-2/3"));
  EXPECT_FALSE(content_range_start("bytes -5/10"));
  EXPECT_FALSE(content_range_start("bytes x-5/10"));
}

TEST(Endpoints, InsecureRegistriesUseHttpAndMirrorsServeOnlyDockerHub) {
  ClientOptions options;
  options.insecure_registries = {"127.0.0.1:5000"};
  options.registry_mirrors = {"https://mirror.example", "http://127.0.0.1:5000"};
  RegistryClient client(options);
  auto local = client.endpoints("127.0.0.1:5000");
  ASSERT_EQ(local.size(), 1u);
  EXPECT_EQ(local[0].base.origin(), "http://127.0.0.1:5000");
  EXPECT_FALSE(local[0].verify_tls);
  auto secure = client.endpoints("registry.example:443");
  ASSERT_EQ(secure.size(), 1u);
  EXPECT_EQ(secure[0].base.origin(), "https://registry.example");
  EXPECT_TRUE(secure[0].verify_tls);
  auto hub = client.endpoints("registry-1.docker.io");
  ASSERT_EQ(hub.size(), 3u);
  EXPECT_TRUE(hub[0].mirror);
  EXPECT_EQ(hub[0].base.origin(), "https://mirror.example");
  EXPECT_FALSE(hub[1].verify_tls) << "the second mirror is an insecure registry";
  EXPECT_EQ(hub[2].base.origin(), "https://registry-1.docker.io");
  EXPECT_FALSE(hub[2].mirror);
}

}  // namespace
}  // namespace raind::condenser::registry

#include "condenser/images/oci_manifest.hpp"

#include <gtest/gtest.h>

namespace raind::condenser::images {
namespace {

std::string digest(char c) {
  return "sha256:" + std::string(64, c);
}

TEST(OciManifest, IndexSelectsPlatformIgnoringUnknownFields) {
  std::string index = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
    "futureField":1,"manifests":[
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                      digest('a') + R"(","size":10,
       "platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
      {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
                      digest('b') + R"(","size":11,
       "platform":{"os":"linux","architecture":"amd64"},"annotations":{"k":"v"}}]})";
  ASSERT_TRUE(looks_like_index(index));
  auto list = parse_index_manifests(index);
  ASSERT_TRUE(list) << list.error().what();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].annotations.at("k"), "v");

  auto amd = select_platform(*list, Platform{});
  ASSERT_TRUE(amd);
  EXPECT_EQ(amd->digest, digest('b'));
  EXPECT_EQ(amd->size, 11);
  auto arm = select_platform(*list, Platform{"linux", "arm64", ""});
  ASSERT_TRUE(arm);
  EXPECT_EQ(arm->digest, digest('a'));
  EXPECT_TRUE(select_platform(*list, Platform{"linux", "arm64", "v8"}));
  EXPECT_FALSE(select_platform(*list, Platform{"linux", "arm64", "v7"}));
  EXPECT_FALSE(select_platform(*list, Platform{"linux", "s390x", ""}));
}

TEST(OciManifest, RejectsBadDescriptors) {
  auto bad_digest = parse_index_manifests(
      R"({"manifests":[{"mediaType":"x","digest":"sha256:../../etc","size":1}]})");
  ASSERT_FALSE(bad_digest);
  EXPECT_NE(bad_digest.error().what().find("sha256:../../etc"), std::string::npos);
  EXPECT_FALSE(parse_index_manifests(R"({"manifests":[{"mediaType":"x","digest":")" + digest('a') +
                                     R"(","size":-1}]})"));
  EXPECT_FALSE(parse_index_manifests(R"({"manifests":{}})"));
  EXPECT_FALSE(parse_index_manifests("not json"));
}

TEST(OciManifest, ManifestAndConfig) {
  std::string manifest = R"({"schemaVersion":2,"config":{"mediaType":"c","digest":")" +
                         digest('c') + R"(","size":5},"layers":[{"mediaType":"l","digest":")" +
                         digest('d') + R"(","size":7}]})";
  EXPECT_FALSE(looks_like_index(manifest));
  auto m = parse_image_manifest(manifest);
  ASSERT_TRUE(m) << m.error().what();
  EXPECT_EQ(m->config.digest, digest('c'));
  ASSERT_EQ(m->layers.size(), 1u);
  EXPECT_EQ(m->layers[0].size, 7);

  auto config = parse_image_config(R"({"os":"linux","architecture":"amd64",
      "rootfs":{"type":"layers","diff_ids":[")" +
                                   digest('e') + R"("]}})");
  ASSERT_TRUE(config) << config.error().what();
  EXPECT_EQ(config->platform, (Platform{"linux", "amd64", ""}));
  EXPECT_EQ(config->diff_ids, std::vector<std::string>{digest('e')});
  EXPECT_FALSE(parse_image_config(R"({"rootfs":{"diff_ids":["nope"]}})"));
  EXPECT_FALSE(parse_image_config(R"({"os":"linux"})"));
}

}  // namespace
}  // namespace raind::condenser::images

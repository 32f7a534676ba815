#include "condenser/images/image_index.hpp"

#include <gtest/gtest.h>

namespace raind::condenser::images {
namespace {

std::string digest(char c) {
  return "sha256:" + std::string(64, c);
}

TEST(ImageIndex, RoundTrips) {
  std::vector<ImageRecord> images{{"registry-1.docker.io/library/busybox:latest",
                                   digest('a'),
                                   digest('b'),
                                   {digest('c'), digest('d')},
                                   {digest('e'), digest('f')},
                                   1700000000,
                                   digest('9')},
                                  {"localhost:5000/x:v1", digest('1'), digest('2'), {}, {}, 1, {}}};
  auto parsed = parse_image_index(serialize_image_index(images));
  ASSERT_TRUE(parsed) << parsed.error().what();
  EXPECT_EQ(*parsed, images);
  EXPECT_EQ(images[0].id(), std::string(64, 'b'));
}

TEST(ImageIndex, RejectsDigestsThatCouldBecomePaths) {
  std::vector<ImageRecord> images{
      {"r/x:latest", digest('a'), digest('b'), {"sha256:../../etc"}, {digest('e')}, 1, {}}};
  auto parsed = parse_image_index(serialize_image_index(images));
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().what().find("invalid digests"), std::string::npos);
  EXPECT_FALSE(parse_image_index(R"({"version":2,"images":[]})"));
  EXPECT_FALSE(parse_image_index("[]"));
}

}  // namespace
}  // namespace raind::condenser::images

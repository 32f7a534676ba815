#include "condenser/images/reference.hpp"

#include <gtest/gtest.h>

namespace raind::condenser::images {
namespace {

const std::string kDigest = "sha256:" + std::string(64, 'a');

struct Good {
  const char* input;
  const char* registry;
  const char* repository;
  const char* tag;
  std::string digest;
  const char* canonical;
  const char* familiar;
};

class ParseGood : public ::testing::TestWithParam<Good> {};

TEST_P(ParseGood, Parses) {
  const Good& c = GetParam();
  auto ref = parse_reference(c.input);
  ASSERT_TRUE(ref) << c.input << ": " << ref.error().what();
  EXPECT_EQ(ref->registry, c.registry);
  EXPECT_EQ(ref->repository, c.repository);
  EXPECT_EQ(ref->tag, c.tag);
  EXPECT_EQ(ref->digest, c.digest);
  EXPECT_EQ(ref->to_string(), c.canonical);
  EXPECT_EQ(ref->familiar(), c.familiar);
  // The canonical form parses back to the same reference.
  auto again = parse_reference(ref->to_string());
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *ref);
}

INSTANTIATE_TEST_SUITE_P(
    References, ParseGood,
    ::testing::Values(
        Good{"busybox", "registry-1.docker.io", "library/busybox", "latest", "",
             "registry-1.docker.io/library/busybox:latest", "busybox:latest"},
        Good{"busybox:1.36", "registry-1.docker.io", "library/busybox", "1.36", "",
             "registry-1.docker.io/library/busybox:1.36", "busybox:1.36"},
        Good{"alpine/git", "registry-1.docker.io", "alpine/git", "latest", "",
             "registry-1.docker.io/alpine/git:latest", "alpine/git:latest"},
        Good{"docker.io/busybox", "registry-1.docker.io", "library/busybox", "latest", "",
             "registry-1.docker.io/library/busybox:latest", "busybox:latest"},
        Good{"docker.io/library/busybox:latest", "registry-1.docker.io", "library/busybox",
             "latest", "", "registry-1.docker.io/library/busybox:latest", "busybox:latest"},
        Good{"index.docker.io/foo/bar:v1", "registry-1.docker.io", "foo/bar", "v1", "",
             "registry-1.docker.io/foo/bar:v1", "foo/bar:v1"},
        Good{"localhost:5000/x", "localhost:5000", "x", "latest", "", "localhost:5000/x:latest",
             "localhost:5000/x:latest"},
        Good{"localhost/x:t", "localhost", "x", "t", "", "localhost/x:t", "localhost/x:t"},
        Good{"quay.io/coreos/etcd:v3.5.0", "quay.io", "coreos/etcd", "v3.5.0", "",
             "quay.io/coreos/etcd:v3.5.0", "quay.io/coreos/etcd:v3.5.0"},
        Good{"reg.example.com:443/a/b/c", "reg.example.com:443", "a/b/c", "latest", "",
             "reg.example.com:443/a/b/c:latest", "reg.example.com:443/a/b/c:latest"},
        Good{"Registry.Example.com/app", "Registry.Example.com", "app", "latest", "",
             "Registry.Example.com/app:latest", "Registry.Example.com/app:latest"},
        Good{"[::1]:5000/app:v2", "[::1]:5000", "app", "v2", "", "[::1]:5000/app:v2",
             "[::1]:5000/app:v2"},
        Good{"ns/my_app.sub-name__x/a--b", "registry-1.docker.io", "ns/my_app.sub-name__x/a--b",
             "latest", "", "registry-1.docker.io/ns/my_app.sub-name__x/a--b:latest",
             "ns/my_app.sub-name__x/a--b:latest"},
        Good{"busybox:_Tag.With-Caps", "registry-1.docker.io", "library/busybox", "_Tag.With-Caps",
             "", "registry-1.docker.io/library/busybox:_Tag.With-Caps", "busybox:_Tag.With-Caps"}));

TEST(ReferenceDigest, DigestWithoutTagHasNoDefaultTag) {
  auto ref = parse_reference("busybox@" + kDigest);
  ASSERT_TRUE(ref) << ref.error().what();
  EXPECT_EQ(ref->tag, "");
  EXPECT_EQ(ref->digest, kDigest);
  EXPECT_EQ(ref->to_string(), "registry-1.docker.io/library/busybox@" + kDigest);
  EXPECT_EQ(ref->manifest_ref(), kDigest);
}

TEST(ReferenceDigest, TagAndDigest) {
  auto ref = parse_reference("localhost:5000/ns/app:v1@" + kDigest);
  ASSERT_TRUE(ref) << ref.error().what();
  EXPECT_EQ(ref->registry, "localhost:5000");
  EXPECT_EQ(ref->repository, "ns/app");
  EXPECT_EQ(ref->tag, "v1");
  EXPECT_EQ(ref->digest, kDigest);
  EXPECT_EQ(ref->manifest_ref(), kDigest);
  EXPECT_EQ(ref->familiar(), "localhost:5000/ns/app:v1@" + kDigest);
}

TEST(ReferenceDigest, TagIsManifestRefWithoutDigest) {
  auto ref = parse_reference("busybox:1.36");
  ASSERT_TRUE(ref);
  EXPECT_EQ(ref->manifest_ref(), "1.36");
}

struct Bad {
  std::string input;
  const char* mentions;  // the error must name the bad part
};

class ParseBad : public ::testing::TestWithParam<Bad> {};

TEST_P(ParseBad, RejectsWithReason) {
  const Bad& c = GetParam();
  auto ref = parse_reference(c.input);
  ASSERT_FALSE(ref) << c.input << " parsed as " << ref->to_string();
  EXPECT_EQ(ref.error().code(), Errc::invalid_argument);
  EXPECT_NE(ref.error().what().find(c.mentions), std::string::npos)
      << c.input << " → " << ref.error().what();
}

INSTANTIATE_TEST_SUITE_P(
    References, ParseBad,
    ::testing::Values(
        Bad{"", "empty"}, Bad{"Busybox", "'Busybox' must be lower-case"},
        Bad{"library/BusyBox:1", "'BusyBox' must be lower-case"}, Bad{"busybox:", "empty tag"},
        Bad{"busybox:-x", "invalid tag '-x'"}, Bad{"busybox:.x", "invalid tag '.x'"},
        Bad{"busybox:a+b", "invalid tag 'a+b'"},
        Bad{"busybox:" + std::string(129, 'a'), "invalid tag"}, Bad{"busy box", "whitespace"},
        Bad{"a//b", "empty repository component"}, Bad{"a/", "empty repository component"},
        Bad{"localhost:5000/", "empty repository"},
        Bad{"-abc", "invalid repository component '-abc'"},
        Bad{"abc-", "invalid repository component 'abc-'"},
        Bad{"a..b", "invalid repository component 'a..b'"},
        Bad{"a___b", "invalid repository component 'a___b'"},
        Bad{"exa_mple.com:80/x", "invalid registry 'exa_mple.com:80'"},
        Bad{"example.com:99999/x", "invalid registry 'example.com:99999'"},
        Bad{"example.com:/x", "invalid registry 'example.com:'"},
        Bad{"-bad.com/x", "invalid registry '-bad.com'"},
        // A dotted first component is a registry, as in the docker CLI.
        Bad{"my_app.x/a", "invalid registry 'my_app.x'"},
        Bad{"busybox@sha256:abc", "digest 'sha256:abc'"},
        Bad{"busybox@sha256:" + std::string(64, 'A'), "64 lower-case hex"},
        Bad{"busybox@md5:" + std::string(32, 'a'), "unsupported digest algorithm"},
        Bad{"busybox@" + std::string(64, 'a'), "no algorithm"}, Bad{"busybox@", "no algorithm"},
        Bad{":tag", "empty repository name"}, Bad{std::string(64, 'a'), "image id"},
        Bad{"example.com/" + std::string(250, 'a'), "longer than 255"}));

TEST(Sha256Digest, Validation) {
  EXPECT_TRUE(is_sha256_digest(kDigest));
  EXPECT_FALSE(is_sha256_digest("sha256:" + std::string(63, 'a')));
  EXPECT_FALSE(is_sha256_digest("sha256:" + std::string(64, 'g')));
  EXPECT_FALSE(is_sha256_digest("sha512:" + std::string(64, 'a')));
}

}  // namespace
}  // namespace raind::condenser::images

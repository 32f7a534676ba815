#include "raind/digest.hpp"

#include <gtest/gtest.h>

#include "raind/sys/files.hpp"
#include "raind/sys/process.hpp"
#include "raind/sys/temp_dir.hpp"

namespace raind {
namespace {

TEST(Digest, Sha256KnownVectors) {
  // FIPS 180-2 examples.
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(std::string_view("a\0b", 3)).size(), 64u) << "embedded NUL is data";
  EXPECT_NE(sha256_hex(std::string_view("a\0b", 3)), sha256_hex("a"));
}

TEST(Digest, FileDigestMatchesSha256sum) {
  auto dir = sys::TempDir::create("raind-digest");
  ASSERT_TRUE(dir) << dir.error().what();
  // Larger than the read buffer so the streaming path runs more than once.
  std::string content;
  for (int i = 0; i < 200000; ++i) content += static_cast<char>(i * 7);
  auto path = *dir / "blob";
  ASSERT_TRUE(sys::write_file(path, content));
  auto digest = sha256_file_hex(path);
  ASSERT_TRUE(digest) << digest.error().what();
  EXPECT_EQ(*digest, sha256_hex(content));
  auto tool = sys::run({"sha256sum", path.string()});
  ASSERT_TRUE(tool) << tool.error().what();
  EXPECT_EQ(tool->out.substr(0, 64), *digest);

  auto missing = sha256_file_hex(*dir / "missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::not_found);
  EXPECT_NE(missing.error().what().find((*dir / "missing").string()), std::string::npos);
}

}  // namespace
}  // namespace raind

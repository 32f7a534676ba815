// Local images through the real daemon and CLI: import the fixture image (OCI layout and
// docker-archive tarballs), list, inspect, remove; bad input gets a clear 4xx and stores nothing.
#include <gtest/gtest.h>

#include <archive.h>
#include <archive_entry.h>

#include "harness.hpp"
#include "raind/digest.hpp"
#include "raind/sys/files.hpp"

using namespace raind::testing;

namespace {

std::filesystem::path test_image_dir() {
  if (const char* d = std::getenv("RAIND_TEST_IMAGE_DIR")) return d;
  return std::filesystem::path(RAIND_BINARY_DIR) / "test-image";
}

struct Cli {
  std::string host, pki;
  Run operator()(std::vector<std::string> args) const {
    args.insert(args.begin(), {(bin_dir() / "raind").string(), "--pki-dir", pki, "--host", host});
    return run(args);
  }
};

}  // namespace

TEST(Images, ImportListInspectRemoveThroughTheCli) {
  auto image_dir = test_image_dir();
  if (!std::filesystem::exists(image_dir / "busybox-oci.tar"))
    GTEST_SKIP() << "fixture image missing: " << image_dir;
  TempDir dir("images");
  Daemon daemon(dir.path());
  ASSERT_TRUE(daemon.start()) << daemon.output();
  Cli raind{"https://" + daemon.management(), daemon.pki_dir().string()};

  auto imported = raind(
      {"image", "import", (image_dir / "busybox-oci.tar").string(), "--name", "busybox:latest"});
  ASSERT_EQ(imported.code, 0) << imported.err << daemon.output();
  EXPECT_NE(imported.out.find("imported busybox:latest"), std::string::npos) << imported.out;
  auto archive = raind({"image", "import", (image_dir / "busybox-docker-archive.tar").string(),
                        "--name", "localhost:5000/team/box:1.0"});
  ASSERT_EQ(archive.code, 0) << archive.err;

  auto ls = raind({"image", "ls"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  EXPECT_EQ(ls.out.rfind("REFERENCE", 0), 0u) << ls.out;
  EXPECT_NE(ls.out.find("busybox:latest"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("localhost:5000/team/box:1.0"), std::string::npos) << ls.out;

  // A reference with '/' and ':' travels percent-encoded in the path.
  auto inspect = raind({"image", "inspect", "localhost:5000/team/box:1.0"});
  ASSERT_EQ(inspect.code, 0) << inspect.err;
  auto j = nlohmann::json::parse(inspect.out);
  ASSERT_EQ(j["diff_ids"].size(), 1u);
  // Both tarballs hold the same layer: unpacked once, shared.
  auto layers_dir = dir.path() / "state" / "images" / "layers";
  if (std::filesystem::exists(layers_dir)) {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(layers_dir))
      if (e.path().filename().string().rfind(".tmp", 0) != 0) ++n;
    EXPECT_EQ(n, 1u);
  }

  auto rm = raind({"image", "rm", "busybox:latest"});
  ASSERT_EQ(rm.code, 0) << rm.err;
  auto json = nlohmann::json::parse(raind({"image", "ls", "--json"}).out);
  ASSERT_EQ(json.size(), 1u) << json.dump();
  EXPECT_EQ(json[0]["reference"], "localhost:5000/team/box:1.0");
  auto missing = raind({"image", "rm", "busybox:latest"});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("busybox"), std::string::npos) << missing.err;
}

TEST(Images, BadImportsAreRefusedAndStoreNothing) {
  TempDir dir("images-bad");
  Daemon daemon(dir.path());
  ASSERT_TRUE(daemon.start()) << daemon.output();
  Cli raind{"https://" + daemon.management(), daemon.pki_dir().string()};

  auto no_file = raind({"image", "import", (dir.path() / "nope.tar").string()});
  EXPECT_NE(no_file.code, 0);
  EXPECT_NE(no_file.err.find("nope.tar"), std::string::npos) << no_file.err;

  auto bad_ref =
      raind({"image", "import", (dir.path() / "x.tar").string(), "--name", "UPPER/Case"});
  EXPECT_NE(bad_ref.code, 0);
  EXPECT_NE(bad_ref.err.find("reference"), std::string::npos) << bad_ref.err;

  auto evil = write_hostile_docker_archive(dir.path());
  auto hostile = raind({"image", "import", evil.string()});
  EXPECT_NE(hostile.code, 0);
  EXPECT_NE(hostile.err.find("../escape"), std::string::npos) << hostile.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "state" / "images" / "escape"));

  auto ls = nlohmann::json::parse(raind({"image", "ls", "--json"}).out);
  EXPECT_TRUE(ls.empty()) << ls.dump();
}

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

// A one-layer docker-archive whose layer tries to write ../escape.
std::filesystem::path hostile_archive(const std::filesystem::path& dir) {
  auto layer_path = dir / "layer.tar";
  {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_filename(a, layer_path.c_str());
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, "../escape");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 2);
    archive_write_header(a, e);
    archive_write_data(a, "x\n", 2);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
  }
  auto layer = *raind::sys::read_file(layer_path);
  auto layer_digest = raind::sha256_hex(layer);
  nlohmann::json config = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + layer_digest}}}},
      {"config", nlohmann::json::object()}};
  auto config_text = config.dump();
  auto config_name = raind::sha256_hex(config_text) + ".json";
  nlohmann::json manifest = nlohmann::json::array(
      {{{"Config", config_name}, {"RepoTags", {"evil:latest"}}, {"Layers", {"layer.tar"}}}});
  auto out = dir / "evil.tar";
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open_filename(a, out.c_str());
  auto add = [&](const std::string& name, const std::string& data) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_write_header(a, e);
    archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
  };
  add("manifest.json", manifest.dump());
  add(config_name, config_text);
  add("layer.tar", layer);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

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

  auto evil = hostile_archive(dir.path());
  auto hostile = raind({"image", "import", evil.string()});
  EXPECT_NE(hostile.code, 0);
  EXPECT_NE(hostile.err.find("../escape"), std::string::npos) << hostile.err;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "state" / "images" / "escape"));

  auto ls = nlohmann::json::parse(raind({"image", "ls", "--json"}).out);
  EXPECT_TRUE(ls.empty()) << ls.dump();
}

// The content store and `image import` of the busybox fixture (built by the test_image CTest
// fixture into ${RAIND_BINARY_DIR}/test-image, or $RAIND_TEST_IMAGE_DIR).
#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "condenser/images/import.hpp"
#include "condenser/images/store.hpp"
#include "raind/sys/files.hpp"
#include "raind/sys/temp_dir.hpp"
#include "tar_builder.hpp"

namespace raind::condenser::images {
namespace {

namespace fs = std::filesystem;

fs::path fixture_dir() {
  if (const char* env = std::getenv("RAIND_TEST_IMAGE_DIR")) return env;
  return fs::path(RAIND_BINARY_DIR) / "test-image";
}

std::size_t count_entries(const fs::path& dir) {
  std::size_t n = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    (void)entry;
    ++n;
  }
  return n;
}

// Copies a tar, flipping one byte in the first entry whose name contains `victim`.
void corrupt_copy(const fs::path& from, const fs::path& to, const std::string& victim) {
  archive* in = archive_read_new();
  archive_read_support_format_tar(in);
  ASSERT_EQ(archive_read_open_filename(in, from.c_str(), 65536), ARCHIVE_OK);
  archive* out = archive_write_new();
  archive_write_set_format_pax(out);
  ASSERT_EQ(archive_write_open_filename(out, to.c_str()), ARCHIVE_OK);
  archive_entry* e = nullptr;
  bool done = false;
  while (archive_read_next_header(in, &e) == ARCHIVE_OK) {
    std::string data(static_cast<std::size_t>(archive_entry_size(e)), '\0');
    if (!data.empty()) archive_read_data(in, data.data(), data.size());
    if (!done && std::string(archive_entry_pathname(e)).find(victim) != std::string::npos &&
        !data.empty()) {
      data[data.size() / 2] ^= 0x01;
      done = true;
    }
    archive_write_header(out, e);
    if (!data.empty()) archive_write_data(out, data.data(), data.size());
  }
  archive_write_close(out);
  archive_write_free(out);
  archive_read_free(in);
  ASSERT_TRUE(done) << "no entry matching " << victim;
}

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (layer ownership)";
    auto dir = sys::TempDir::create("images-store");
    ASSERT_TRUE(dir) << dir.error().what();
    tmp_ = std::move(*dir);
    auto store = ImageStore::open(tmp_ / "store");
    ASSERT_TRUE(store) << store.error().what();
    store_.emplace(std::move(*store));
  }
  void require_fixture() {
    if (!fs::exists(fixture_dir() / "busybox-oci.tar"))
      GTEST_SKIP() << "fixture image missing at " << fixture_dir()
                   << " (run through ctest: FIXTURES_REQUIRED test_image)";
  }

  sys::TempDir tmp_;
  std::optional<ImageStore> store_;
};

TEST_F(ImageStoreTest, BlobDigestMismatchStoresNothing) {
  auto wrong = store_->put_blob_bytes("hello", "sha256:" + std::string(64, '0'));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), Errc::integrity);
  EXPECT_EQ(count_entries(tmp_ / "store/blobs/sha256"), 0u);
  EXPECT_EQ(count_entries(tmp_ / "store/tmp"), 0u);

  auto good = store_->put_blob_bytes("hello");
  ASSERT_TRUE(good) << good.error().what();
  EXPECT_EQ(*good, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  EXPECT_EQ(*store_->read_blob(*good), "hello");
  EXPECT_TRUE(store_->put_blob_bytes("hello", *good));
}

TEST_F(ImageStoreTest, LayerUnpackedOnceEvenConcurrently) {
  testing::TarBuilder b;
  b.file("bin/hello", "hi", 0755);
  std::string tar = b.finish();
  auto blob = store_->put_blob_bytes(testing::compress(tar, "gzip"));
  ASSERT_TRUE(blob);
  auto diff_id = store_->put_blob_bytes(tar);  // the uncompressed digest, computed by the store
  ASSERT_TRUE(diff_id);

  auto wrong = store_->ensure_layer("sha256:" + std::string(64, '1'), *blob);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), Errc::integrity);

  std::vector<std::thread> threads;
  std::vector<Result<fs::path>> results(4, fail(Errc::internal, "not run"));
  for (std::size_t i = 0; i < results.size(); ++i)
    threads.emplace_back([&, i] { results[i] = store_->ensure_layer(*diff_id, *blob); });
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(*r, store_->layer_dir(*diff_id));
  }
  EXPECT_EQ(*sys::read_file(store_->layer_dir(*diff_id) / "bin/hello"), "hi");
  EXPECT_EQ(count_entries(tmp_ / "store/layers"), 1u) << "temporaries left or layer duplicated";
}

TEST_F(ImageStoreTest, ImportOciLayoutTarball) {
  require_fixture();
  auto records = import_archive(*store_, fixture_dir() / "busybox-oci.tar", "busybox");
  ASSERT_TRUE(records) << records.error().what();
  ASSERT_EQ(records->size(), 1u);
  const ImageRecord& image = records->front();
  EXPECT_EQ(image.reference, "registry-1.docker.io/library/busybox:latest");
  ASSERT_EQ(image.diff_ids.size(), 1u);

  auto listed = store_->list_images();
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->front().config_digest, image.config_digest);

  auto lower = store_->lowerdirs(image);
  ASSERT_TRUE(lower) << lower.error().what();
  ASSERT_EQ(lower->size(), 1u);
  struct stat st {};
  ASSERT_EQ(::lstat(((*lower)[0] / "bin/busybox").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_TRUE(st.st_mode & S_IXUSR);
  EXPECT_EQ(*sys::read_link((*lower)[0] / "bin/sh"), "busybox");
  ASSERT_EQ(::lstat(((*lower)[0] / "tmp").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777u) << "sticky world-writable /tmp kept";
  EXPECT_EQ(*sys::read_file((*lower)[0] / "var/www/index.html"),
            "<html><body>raind test image</body></html>\n");

  // Lookups by short name, by id prefix and by digest reference.
  EXPECT_EQ(store_->find_image("busybox")->config_digest, image.config_digest);
  EXPECT_EQ(store_->find_image(image.id().substr(0, 12))->reference, image.reference);
  EXPECT_EQ(store_->find_image("busybox@" + image.manifest_digest)->reference, image.reference);
  EXPECT_EQ(store_->find_image("nope").error().code(), Errc::not_found);
}

TEST_F(ImageStoreTest, ImportOciIndexSelectsAmd64) {
  require_fixture();
  auto latest = import_archive(*store_, fixture_dir() / "busybox-oci.tar", "busybox");
  ASSERT_TRUE(latest) << latest.error().what();
  auto multi = import_archive(*store_, fixture_dir() / "busybox-oci.tar", "busybox:multi");
  ASSERT_TRUE(multi) << multi.error().what();
  EXPECT_EQ(multi->front().reference, "registry-1.docker.io/library/busybox:multi");
  // The index's amd64 entry is the same manifest as "latest".
  EXPECT_EQ(multi->front().manifest_digest, latest->front().manifest_digest);

  auto arm = import_archive(*store_, fixture_dir() / "busybox-oci.tar", "busybox:arm",
                            Platform{"linux", "arm64", ""});
  ASSERT_TRUE(arm) << arm.error().what();
  EXPECT_NE(arm->front().manifest_digest, latest->front().manifest_digest);
  EXPECT_EQ(store_->list_images()->size(), 3u);
  EXPECT_EQ(count_entries(tmp_ / "store/layers"), 1u) << "images share their one layer";
}

TEST_F(ImageStoreTest, ImportOciWithoutNameExplains) {
  require_fixture();
  auto records = import_archive(*store_, fixture_dir() / "busybox-oci.tar");
  ASSERT_FALSE(records);
  EXPECT_NE(records.error().what().find("only by tag"), std::string::npos)
      << records.error().what();
  EXPECT_TRUE(store_->list_images()->empty());
}

TEST_F(ImageStoreTest, ImportDockerArchiveSharesLayersAndRemoves) {
  require_fixture();
  auto docker = import_archive(*store_, fixture_dir() / "busybox-docker-archive.tar");
  ASSERT_TRUE(docker) << docker.error().what();
  ASSERT_EQ(docker->size(), 1u);
  EXPECT_EQ(docker->front().reference, "registry-1.docker.io/library/busybox:latest");
  auto lower = store_->lowerdirs(docker->front());
  ASSERT_TRUE(lower) << lower.error().what();
  EXPECT_TRUE(fs::is_regular_file((*lower)[0] / "bin/busybox"));
  EXPECT_TRUE(store_->has_blob(docker->front().manifest_digest)) << "synthesised manifest stored";

  auto oci = import_archive(*store_, fixture_dir() / "busybox-oci.tar", "busybox:oci");
  ASSERT_TRUE(oci) << oci.error().what();
  EXPECT_EQ(oci->front().diff_ids, docker->front().diff_ids);
  EXPECT_EQ(oci->front().config_digest, docker->front().config_digest);
  EXPECT_EQ(count_entries(tmp_ / "store/layers"), 1u) << "one diff-id, one unpacked layer";

  auto removed = store_->remove_image("busybox:oci");
  ASSERT_TRUE(removed) << removed.error().what();
  ASSERT_EQ(removed->size(), 1u);
  EXPECT_EQ(store_->list_images()->size(), 1u);
  // By id: every remaining tag of the image goes.
  removed = store_->remove_image(docker->front().id().substr(0, 16));
  ASSERT_TRUE(removed) << removed.error().what();
  EXPECT_TRUE(store_->list_images()->empty());
  EXPECT_EQ(store_->remove_image("busybox").error().code(), Errc::not_found);
}

TEST_F(ImageStoreTest, CorruptedBlobFailsImport) {
  require_fixture();
  // The layer blob is the only large one in the OCI tarball: flip a byte in it.
  fs::path bad = tmp_ / "bad-oci.tar";
  std::string layer_hex;
  for (const auto& entry : fs::directory_iterator(fixture_dir() / "oci-layout/blobs/sha256"))
    if (fs::file_size(entry.path()) > 100000) layer_hex = entry.path().filename();
  ASSERT_FALSE(layer_hex.empty());
  corrupt_copy(fixture_dir() / "busybox-oci.tar", bad, layer_hex);
  auto records = import_archive(*store_, bad, "busybox");
  ASSERT_FALSE(records);
  EXPECT_EQ(records.error().code(), Errc::integrity) << records.error().what();
  EXPECT_NE(records.error().what().find(layer_hex), std::string::npos) << records.error().what();
  EXPECT_FALSE(store_->has_blob("sha256:" + layer_hex));
  EXPECT_TRUE(store_->list_images()->empty());
  EXPECT_EQ(count_entries(tmp_ / "store/layers"), 0u);
}

TEST_F(ImageStoreTest, NotAnImageArchive) {
  testing::TarBuilder b;
  b.file("hello.txt", "hi");
  ASSERT_TRUE(sys::write_file(tmp_ / "x.tar", b.finish()));
  auto records = import_archive(*store_, tmp_ / "x.tar");
  ASSERT_FALSE(records);
  EXPECT_NE(records.error().what().find("neither an OCI image layout"), std::string::npos);
}

}  // namespace
}  // namespace raind::condenser::images

// Layer unpacking on the real file system (root: ownership, device nodes, trusted.* xattrs).
#include "condenser/images/layer_unpack.hpp"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "condenser/images/sha256_stream.hpp"
#include "raind/sys/files.hpp"
#include "raind/sys/temp_dir.hpp"
#include "tar_builder.hpp"

namespace raind::condenser::images {
namespace {

namespace fs = std::filesystem;
using testing::TarBuilder;

std::string sha256(const std::string& data) {
  Sha256Stream h;
  h.update(data.data(), data.size());
  return h.finish();
}

std::string get_xattr(const fs::path& p, const char* name) {
  char buf[256];
  ssize_t n = ::lgetxattr(p.c_str(), name, buf, sizeof(buf));
  return n < 0 ? std::string() : std::string(buf, static_cast<std::size_t>(n));
}

class LayerUnpack : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root (ownership, device nodes, trusted xattrs)";
    auto dir = sys::TempDir::create("images-unpack");
    ASSERT_TRUE(dir) << dir.error().what();
    tmp_ = std::move(*dir);
    ASSERT_TRUE(sys::mkdir_p(tmp_ / "canary"));
    ASSERT_TRUE(sys::write_file(tmp_ / "canary" / "keep", "canary"));
    ASSERT_TRUE(sys::mkdir_p(tmp_ / "work" / "sub"));
    dest_ = tmp_ / "work" / "sub" / "layer";
  }

  Result<UnpackStats> unpack(const std::string& bytes) {
    auto tar = tmp_ / "layer.tar";
    EXPECT_TRUE(sys::write_file(tar, bytes));
    return unpack_layer(tar, dest_);
  }

  // Everything under tmp_ except the layer's own destination.
  std::set<std::string> outside_tree() {
    std::set<std::string> out;
    for (auto it = fs::recursive_directory_iterator(tmp_.path());
         it != fs::recursive_directory_iterator(); ++it)
      if (it->path() != tmp_ / "layer.tar") out.insert(it->path().string());
    return out;
  }

  sys::TempDir tmp_;
  fs::path dest_;
};

TEST_F(LayerUnpack, NormalLayerKeepsMetadataAndConvertsWhiteouts) {
  TarBuilder b;
  b.dir("./", 0755)
      .dir("etc", 0750, 2000000)
      .file("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0644)
      .file("etc/.wh..wh..opq", "")
      .dir("usr/bin", 0755)
      .file("usr/bin/tool", "#!/bin/sh\necho hi\n", 04755, 1000, 1001,
            {{"user.raind", "v1"}, {"trusted.overlay.redirect", "/etc"}}, 1234567)
      .hardlink("usr/bin/tool-link", "usr/bin/tool")
      .symlink("usr/bin/sh", "/bin/busybox")
      .symlink("abs", "/")
      .file("var/.wh.gone", "")
      .fifo("run/fifo")
      .device("dev/null", AE_IFCHR, 1, 3);
  std::string tar = b.finish();

  for (std::string filter : {"none", "gzip", "zstd"}) {
    SCOPED_TRACE(filter);
    std::string bytes = filter == "none" ? tar : testing::compress(tar, filter);
    auto stats = unpack(bytes);
    ASSERT_TRUE(stats) << stats.error().what();
    EXPECT_EQ(stats->diff_id, sha256(tar)) << "diff-id is the digest of the uncompressed stream";
    EXPECT_EQ(stats->uncompressed_bytes, tar.size());
    EXPECT_EQ(stats->whiteouts, 2u);

    struct stat st {};
    ASSERT_EQ(::lstat((dest_ / "usr/bin/tool").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 04755u);
    EXPECT_EQ(st.st_uid, 1000u);
    EXPECT_EQ(st.st_gid, 1001u);
    EXPECT_EQ(st.st_mtime, 1234567);
    EXPECT_EQ(st.st_nlink, 2u);
    EXPECT_EQ(*sys::read_file(dest_ / "usr/bin/tool"), "#!/bin/sh\necho hi\n");
    EXPECT_EQ(get_xattr(dest_ / "usr/bin/tool", "user.raind"), "v1");
    EXPECT_EQ(get_xattr(dest_ / "usr/bin/tool", "trusted.overlay.redirect"), "")
        << "a layer must not set overlay metadata directly";

    struct stat link_st {};
    ASSERT_EQ(::lstat((dest_ / "usr/bin/tool-link").c_str(), &link_st), 0);
    EXPECT_EQ(link_st.st_ino, st.st_ino);

    EXPECT_EQ(*sys::read_link(dest_ / "usr/bin/sh"), "/bin/busybox");
    EXPECT_EQ(*sys::read_link(dest_ / "abs"), "/");

    ASSERT_EQ(::lstat((dest_ / "etc").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0750u);
    EXPECT_EQ(st.st_mtime, 2000000) << "directory mtime set after its children were written";
    EXPECT_EQ(get_xattr(dest_ / "etc", "trusted.overlay.opaque"), "y");
    EXPECT_FALSE(fs::exists(fs::symlink_status(dest_ / "etc/.wh..wh..opq")));

    ASSERT_EQ(::lstat((dest_ / "var/gone").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, ::makedev(0, 0));
    EXPECT_FALSE(fs::exists(fs::symlink_status(dest_ / "var/.wh.gone")));

    ASSERT_EQ(::lstat((dest_ / "run/fifo").c_str(), &st), 0);
    EXPECT_TRUE(S_ISFIFO(st.st_mode));
    ASSERT_EQ(::lstat((dest_ / "dev/null").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, ::makedev(1, 3));
    ASSERT_TRUE(sys::remove_all(dest_));
  }
}

TEST_F(LayerUnpack, LaterEntriesReplaceEarlierOnesWithoutFollowingLinks) {
  // A symlink pointing at the canary, then a regular file of the same name: the file must replace
  // the link, not write through it.
  TarBuilder b;
  b.symlink("x", (tmp_ / "canary" / "keep").string()).file("x", "layer content");
  auto stats = unpack(b.finish());
  ASSERT_TRUE(stats) << stats.error().what();
  EXPECT_EQ(*sys::read_file(dest_ / "x"), "layer content");
  EXPECT_EQ(*sys::read_file(tmp_ / "canary" / "keep"), "canary");
}

TEST_F(LayerUnpack, ExistingDestinationIsRefused) {
  ASSERT_TRUE(sys::mkdir_p(dest_));
  TarBuilder b;
  b.file("a", "x");
  auto stats = unpack(b.finish());
  ASSERT_FALSE(stats);
  EXPECT_EQ(stats.error().code(), Errc::already_exists);
}

struct Hostile {
  const char* name;
  std::function<void(TarBuilder&, const fs::path& canary)> build;
  const char* entry;  // the entry the error must name
  const char* reason;
};

class HostileLayer : public LayerUnpack, public ::testing::WithParamInterface<Hostile> {};

TEST_P(HostileLayer, IsRejectedAndLeavesNothing) {
  const Hostile& h = GetParam();
  TarBuilder b;
  b.file("ok", "fine");  // something is written first, so cleanup is exercised
  h.build(b, tmp_ / "canary");
  auto before = outside_tree();
  auto stats = unpack(b.finish());
  ASSERT_FALSE(stats) << h.name << " was accepted";
  std::string what = stats.error().what();
  EXPECT_NE(what.find(fmt::format("layer entry '{}'", h.entry)), std::string::npos) << what;
  EXPECT_NE(what.find(h.reason), std::string::npos) << what;
  EXPECT_FALSE(fs::exists(fs::symlink_status(dest_))) << "partial layer left behind";
  EXPECT_EQ(outside_tree(), before) << "something was written outside the layer";
  EXPECT_EQ(*sys::read_file(tmp_ / "canary" / "keep"), "canary");
  EXPECT_FALSE(fs::exists("/etc/raind-hostile-layer"));
}

INSTANTIATE_TEST_SUITE_P(
    Layers, HostileLayer,
    ::testing::Values(
        Hostile{"dotdot",
                [](TarBuilder& b, const fs::path&) { b.file("../../../canary/evil", "x"); },
                "../../../canary/evil", "'..' component"},
        Hostile{"dotdot_inside", [](TarBuilder& b, const fs::path&) { b.file("a/../../x", "x"); },
                "a/../../x", "'..' component"},
        Hostile{"absolute",
                [](TarBuilder& b, const fs::path&) { b.file("/etc/raind-hostile-layer", "x"); },
                "/etc/raind-hostile-layer", "absolute path"},
        Hostile{"symlink_to_root",
                [](TarBuilder& b, const fs::path&) {
                  b.symlink("a", "/").file("a/etc/raind-hostile-layer", "x");
                },
                "a/etc/raind-hostile-layer", "component 'a' is a symlink"},
        Hostile{"symlink_to_canary",
                [](TarBuilder& b, const fs::path& canary) {
                  b.symlink("a", canary.string()).file("a/evil", "x");
                },
                "a/evil", "component 'a' is a symlink"},
        Hostile{"symlink_dotdot",
                [](TarBuilder& b, const fs::path&) { b.symlink("a", "..").file("a/x", "x"); },
                "a/x", "component 'a' is a symlink"},
        Hostile{"symlink_deep",
                [](TarBuilder& b, const fs::path&) {
                  b.dir("d").symlink("d/up", "../../../..").dir("d/up/canary/sub");
                },
                "d/up/canary/sub/", "component 'up' is a symlink"},
        Hostile{"whiteout_through_symlink",
                [](TarBuilder& b, const fs::path& canary) {
                  b.symlink("a", canary.string()).file("a/.wh.keep", "");
                },
                "a/.wh.keep", "component 'a' is a symlink"},
        Hostile{"hardlink_dotdot",
                [](TarBuilder& b, const fs::path&) { b.hardlink("x", "../../etc/shadow"); }, "x",
                "'..' component"},
        Hostile{"hardlink_absolute",
                [](TarBuilder& b, const fs::path&) { b.hardlink("x", "/etc/shadow"); }, "x",
                "absolute path"},
        Hostile{"hardlink_through_symlink",
                [](TarBuilder& b, const fs::path& canary) {
                  b.symlink("c", canary.string()).hardlink("x", "c/keep");
                },
                "x", "component 'c' is a symlink"},
        Hostile{"hardlink_missing",
                [](TarBuilder& b, const fs::path&) { b.hardlink("x", "nothere"); }, "x",
                "is not in the layer"},
        Hostile{"char_device_outside_dev",
                [](TarBuilder& b, const fs::path&) { b.device("x/mem", AE_IFCHR, 1, 1); }, "x/mem",
                "device node outside /dev"},
        Hostile{"block_device_in_usr",
                [](TarBuilder& b, const fs::path&) { b.device("usr/sda", AE_IFBLK, 8, 0); },
                "usr/sda", "device node outside /dev"},
        Hostile{"device_named_dev",
                [](TarBuilder& b, const fs::path&) { b.device("dev", AE_IFCHR, 1, 1); }, "dev",
                "device node outside /dev"},
        Hostile{"bad_whiteout", [](TarBuilder& b, const fs::path&) { b.file("a/.wh..", ""); },
                "a/.wh..", "invalid whiteout"}),
    [](const auto& param_info) { return std::string(param_info.param.name); });

TEST_F(LayerUnpack, TruncatedGzipIsRejected) {
  TarBuilder b;
  b.file("big", std::string(1 << 20, 'z')).file("after", "x");
  std::string gz = testing::compress(b.finish(), "gzip");
  auto stats = unpack(gz.substr(0, gz.size() / 2));
  ASSERT_FALSE(stats);
  EXPECT_FALSE(fs::exists(fs::symlink_status(dest_)));
}

// Headers that claim enormous sizes: a 1 MiB pax path, a pax (or base-256) size of 1 TiB with
// next to no data behind it, a pax header that itself claims 1 TiB. Each must fail cleanly:
// an error, no hang, no allocation of the claimed size, nothing left behind.
TEST_F(LayerUnpack, HugeHeaderIsRejected) {
  using testing::pax_header;
  using testing::tar_end;
  using testing::tar_pad;
  using testing::ustar_header;
  constexpr std::uint64_t kTiB = std::uint64_t{1} << 40;
  // A small entry first, so cleanup of a partly written layer is exercised.
  const std::string ok = ustar_header("ok", '0', 4) + "fine" + tar_pad(4);
  const std::string tib_size = pax_header({{"size", std::to_string(kTiB)}});

  struct Case {
    std::string name;
    std::string bytes;
  };
  std::vector<Case> cases;
  {
    TarBuilder b;
    b.file("ok", "fine").file(std::string(1 << 20, 'a'), "x");
    cases.push_back({"pax_path_1MiB", b.finish()});
  }
  {
    // Under libarchive's limits (1 MiB per special header, 999,999 bytes per pax record): the
    // whole path reaches the unpacker, whose file system calls refuse the 999,981-byte name.
    TarBuilder b;
    b.file("ok", "fine").file("d/" + std::string(999981, 'a'), "x");
    cases.push_back({"pax_path_999981_bytes", b.finish()});
  }
  cases.push_back({"pax_size_1TiB_then_eof", ok + tib_size + ustar_header("big", '0', 0)});
  cases.push_back({"pax_size_1TiB_then_end_marker", ok + tib_size + ustar_header("big", '0', 0) +
                                                        "some data" + tar_pad(9) + tar_end()});
  cases.push_back(
      {"pax_size_1TiB_gzip",
       testing::compress(ok + tib_size + ustar_header("big", '0', 0) + tar_end(), "gzip")});
  cases.push_back(
      {"pax_size_overflows_int64", ok + pax_header({{"size", "99999999999999999999999999"}}) +
                                       ustar_header("big", '0', 0) + tar_end()});
  cases.push_back({"base256_size_1TiB", ok + ustar_header("big", '0', kTiB) + tar_end()});
  cases.push_back({"pax_header_claims_1TiB", ok + ustar_header("PaxHeaders/big", 'x', kTiB) +
                                                 testing::pax_record("path", "big") + tar_pad(12) +
                                                 tar_end()});

  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    auto before = outside_tree();
    rusage usage_before{};
    ::getrusage(RUSAGE_SELF, &usage_before);
    auto start = std::chrono::steady_clock::now();
    auto stats = unpack(c.bytes);
    auto elapsed = std::chrono::steady_clock::now() - start;
    rusage usage_after{};
    ::getrusage(RUSAGE_SELF, &usage_after);
    ASSERT_FALSE(stats) << c.name << " was accepted";
    std::string what = stats.error().what();
    if (what.size() > 300)
      what = what.substr(0, 300) + "... (" + std::to_string(what.size()) + " bytes)";
    std::cout << "[          ] " << c.name << ": " << what << "\n";
    EXPECT_LT(elapsed, std::chrono::seconds(20)) << "took too long";
    // ru_maxrss is in KiB and only grows: the claimed sizes must not have been allocated.
    EXPECT_LT(usage_after.ru_maxrss - usage_before.ru_maxrss, 64 * 1024) << "peak RSS grew";
    EXPECT_FALSE(fs::exists(fs::symlink_status(dest_))) << "partial layer left behind";
    EXPECT_EQ(outside_tree(), before) << "something was written outside the layer";
    EXPECT_EQ(*sys::read_file(tmp_ / "canary" / "keep"), "canary");
    if (fs::exists(fs::symlink_status(dest_))) {
      ASSERT_TRUE(sys::remove_all(dest_));
    }
  }
}

// libarchive 3.6.2 answers a pax record of 1,000,000 bytes or more (but a pax header still under
// its 1 MiB limit) with ARCHIVE_WARN "Rejecting pax extended attribute > 1MB" and ignores that
// record and every record after it; the entry would fall back to its ustar fields (here the name
// cut to 100 bytes). The reader treats such a warning as an error.
TEST_F(LayerUnpack, OversizedPaxRecordIsNotSilentlyDropped) {
  TarBuilder b;
  b.file("ok", "fine").file("d/" + std::string((1 << 20) - 64, 'a'), "x");
  auto before = outside_tree();
  auto stats = unpack(b.finish());
  ASSERT_FALSE(stats) << "accepted with " << stats->entries << " entries";
  EXPECT_NE(stats.error().what().find("tar header partly ignored"), std::string::npos)
      << stats.error().what().substr(0, 300);
  EXPECT_FALSE(fs::exists(fs::symlink_status(dest_))) << "partial layer left behind";
  EXPECT_EQ(outside_tree(), before) << "something was written outside the layer";
}

TEST_F(LayerUnpack, GarbageIsRejected) {
  auto stats = unpack(std::string(4096, '\x7f'));
  ASSERT_FALSE(stats);
  EXPECT_FALSE(fs::exists(fs::symlink_status(dest_)));
}

}  // namespace
}  // namespace raind::condenser::images

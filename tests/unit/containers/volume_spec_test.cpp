#include <gtest/gtest.h>

#include <filesystem>

#include "condenser/containers/volume_spec.hpp"
#include "raind/sys/temp_dir.hpp"

using namespace raind::condenser::containers;
using raind::Errc;
namespace fs = std::filesystem;

namespace {

class VolumeGuardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = raind::sys::TempDir::create("volume-guard");
    ASSERT_TRUE(dir) << dir.error().what();
    tmp_ = std::move(*dir);
    fs::create_directories(root() / "data/sub");
    fs::create_directories(root() / "state/raind");
    fs::create_directories(root() / "state/other");
    // The deny list points into the temp dir so the guard is exercised without touching /etc.
    guard_.denied_sources = {(root() / "state/raind").string()};
  }
  fs::path root() const { return tmp_.path(); }
  raind::Result<Volume> check(const std::string& spec) {
    auto request = parse_volume_spec(spec);
    if (!request) return std::unexpected(request.error());
    return check_volume(*request, guard_);
  }
  raind::sys::TempDir tmp_;
  VolumeGuard guard_;
};

}  // namespace

TEST(VolumeSpec, ParsesSyntax) {
  auto rw = parse_volume_spec("/data:/srv");
  ASSERT_TRUE(rw);
  EXPECT_EQ(rw->source, "/data");
  EXPECT_EQ(rw->destination, "/srv");
  EXPECT_FALSE(rw->read_only);
  EXPECT_TRUE(parse_volume_spec("/data:/srv:ro")->read_only);
  EXPECT_FALSE(parse_volume_spec("/data:/srv:rw")->read_only);
  for (const char* bad : {"/data", "/a:/b:ro:x", ":/srv", "/data:", "/data:/srv:rx", ""}) {
    auto r = parse_volume_spec(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), Errc::invalid_argument);
  }
  EXPECT_NE(parse_volume_spec("/d:/s:noexec").error().message().find("unknown mode \"noexec\""),
            std::string::npos);
}

TEST(VolumeSpec, NormalisesContainerPaths) {
  EXPECT_EQ(*normalize_container_path("/srv//data/./x/"), "/srv/data/x");
  EXPECT_FALSE(normalize_container_path("srv"));
  EXPECT_FALSE(normalize_container_path("/"));
  EXPECT_FALSE(normalize_container_path("//./"));
  EXPECT_FALSE(normalize_container_path("/srv/../etc"));
  EXPECT_FALSE(normalize_container_path("/srv/.."));
  EXPECT_TRUE(normalize_container_path("/srv/..data"));  // only whole ".." components
}

TEST_F(VolumeGuardTest, AcceptsAPlainDirectoryAndMountsTheResolvedPath) {
  fs::create_directory_symlink(root() / "data", root() / "link");
  auto v = check((root() / "link").string() + ":/srv/./data/:ro");
  ASSERT_TRUE(v) << v.error().what();
  EXPECT_EQ(v->source, fs::canonical(root() / "data").string());
  EXPECT_EQ(v->destination, "/srv/data");
  EXPECT_TRUE(v->read_only);
  auto m = v->to_mount();
  EXPECT_EQ(m.type, "bind");
  EXPECT_EQ(m.source, v->source);
  EXPECT_EQ(m.options, (std::vector<std::string>{"rbind", "rprivate", "nosuid", "nodev", "ro"}));
  auto rw = check((root() / "data").string() + ":/srv");
  ASSERT_TRUE(rw);
  auto rw_options = rw->to_mount().options;
  EXPECT_EQ(std::count(rw_options.begin(), rw_options.end(), "ro"), 0);
  EXPECT_EQ(std::count(rw_options.begin(), rw_options.end(), "noexec"), 0);
}

TEST_F(VolumeGuardTest, RefusesProtectedPathsHoweverTheyAreReached) {
  fs::create_directory_symlink(root() / "state/raind", root() / "sneaky");
  fs::create_directory_symlink("/", root() / "slash");
  fs::create_directory_symlink(root() / "data/sub/../../state/raind", root() / "dotdot");
  struct Case {
    std::string spec;
    const char* says;
  };
  std::vector<Case> cases = {
      {(root() / "state/raind").string() + ":/x", "inside protected"},
      {(root() / "state/raind/").string() + ":/x", "inside protected"},
      {(root() / "sneaky").string() + ":/x", "inside protected"},
      {(root() / "dotdot").string() + ":/x", "inside protected"},
      {(root() / "data/../state/raind").string() + ":/x", "inside protected"},
      {(root() / "state").string() + ":/x", "contains protected"},
      {root().string() + ":/x", "contains protected"},
      {(root() / "slash").string() + ":/x", "root directory"},
      {"/:/x", "root directory"},
  };
  for (const auto& c : cases) {
    auto v = check(c.spec);
    ASSERT_FALSE(v) << c.spec;
    EXPECT_EQ(v.error().code(), Errc::permission_denied) << c.spec;
    EXPECT_NE(v.error().message().find(c.says), std::string::npos)
        << c.spec << ": " << v.error().message();
  }
  EXPECT_TRUE(check((root() / "state/other").string() + ":/x"));
}

TEST_F(VolumeGuardTest, DefaultDenyListCoversTheHostsSecrets) {
  VolumeGuard defaults;  // the real list and realpath(3)
  for (const char* source : {"/", "/etc", "/var", "/run", "/proc/self", "/sys/kernel", "/dev"}) {
    auto request = parse_volume_spec(std::string(source) + ":/x");
    ASSERT_TRUE(request);
    auto v = check_volume(*request, defaults);
    ASSERT_FALSE(v) << source;
    EXPECT_EQ(v.error().code(), Errc::permission_denied) << source << ": " << v.error().what();
  }
}

TEST_F(VolumeGuardTest, RefusesBadSourcesAndDestinations) {
  const std::string data = (root() / "data").string();
  struct Case {
    std::string spec;
    Errc code;
    const char* says;
  };
  std::vector<Case> cases = {
      {"data:/x", Errc::invalid_argument, "not an absolute path"},
      {(root() / "missing").string() + ":/x", Errc::invalid_argument, "does not exist"},
      {data + ":x", Errc::invalid_argument, "not absolute"},
      {data + ":/", Errc::invalid_argument, "root directory"},
      {data + ":/srv/../etc", Errc::invalid_argument, "\"..\""},
      {data + ":/proc", Errc::permission_denied, "inside \"/proc\""},
      {data + ":/sys/fs/cgroup", Errc::permission_denied, "inside \"/sys\""},
      {data + ":/dev//shm", Errc::permission_denied, "inside \"/dev\""},
  };
  for (const auto& c : cases) {
    auto v = check(c.spec);
    ASSERT_FALSE(v) << c.spec;
    EXPECT_EQ(v.error().code(), c.code) << c.spec << ": " << v.error().what();
    EXPECT_NE(v.error().message().find(c.says), std::string::npos)
        << c.spec << ": " << v.error().message();
  }
  EXPECT_TRUE(check(data + ":/devices"));  // "/devices" is not under "/dev"
}

TEST_F(VolumeGuardTest, ParseVolumesRejectsDuplicateDestinations) {
  const std::string data = (root() / "data").string();
  auto ok = parse_volumes({data + ":/a", data + ":/b:ro"}, guard_);
  ASSERT_TRUE(ok) << ok.error().what();
  EXPECT_EQ(ok->size(), 2u);
  auto dup = parse_volumes({data + ":/a", data + "/sub:/a/"}, guard_);
  ASSERT_FALSE(dup);
  EXPECT_NE(dup.error().message().find("used twice"), std::string::npos);
}

// io.raind.image.config: droplet stacks image layer directories into an overlay at root.path
// inside the container's mount namespace. The container sees the merged view, writes land in the
// upper directory only, a read-only root stays read-only, and nothing stays mounted after delete.
#include "ext_fixture.hpp"

namespace droplet_test {
namespace {

class Overlay : public ExtTest {
 protected:
  void SetUp() override {
    ExtTest::SetUp();
    if (IsSkipped()) return;
    // root.path is an empty mount point; the busybox tree lives in the bottom layer.
    merged_ = bundle_ / "merged";
    fs::create_directories(merged_);
    upper_ = dir_ / "upper";
    work_ = dir_ / "work";
    fs::create_directories(upper_);
    fs::create_directories(work_);
  }

  // bottom (busybox) <- mid <- top; top whites out a bottom file.
  std::vector<std::string> three_layers() {
    auto top = dir_ / "layers/top", mid = dir_ / "layers/mid", bottom = dir_ / "layers/bottom";
    make_rootfs(bottom);
    fs::create_directories(mid / "etc");
    fs::create_directories(top / "etc");
    write_text(bottom / "etc/who", "bottom\n");
    write_text(bottom / "etc/layer", "bottom\n");
    write_text(bottom / "etc/bottom-only", "bottom-only\n");
    write_text(bottom / "etc/hidden", "should be whited out\n");
    write_text(mid / "etc/who", "mid\n");
    write_text(mid / "etc/layer", "mid\n");
    write_text(mid / "etc/mid-only", "mid-only\n");
    write_text(top / "etc/who", "top\n");
    // An overlay whiteout: a character device 0/0.
    EXPECT_EQ(::mknod((top / "etc/hidden").c_str(), S_IFCHR | 0000, makedev(0, 0)), 0)
        << strerror(errno);
    return {top.string(), mid.string(), bottom.string()};
  }

  json overlay_config(const std::vector<std::string>& layers) {
    json image = {{"rootfsType", "overlay"},
                  {"imageLayer", layers},
                  {"upperDir", upper_.string()},
                  {"workDir", work_.string()}};
    auto c = annotated_config({}, "io.raind.image.config", image.dump());
    c["root"]["path"] = "merged";
    return c;
  }

  // path -> type/size/mtime of every entry under the layer dirs, to prove they are untouched.
  std::map<std::string, std::string> snapshot(const fs::path& p) {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::recursive_directory_iterator(p)) {
      struct stat st {};
      ::lstat(e.path().c_str(), &st);
      out[e.path().string()] = std::to_string(st.st_mode) + "/" + std::to_string(st.st_size) + "/" +
                               std::to_string(st.st_mtim.tv_sec) + "." +
                               std::to_string(st.st_mtim.tv_nsec);
    }
    return out;
  }

  fs::path merged_, upper_, work_;
};

TEST_F(Overlay, ContainerSeesMergedView) {
  write_config({"sh", "-c",
                "cat /etc/who /etc/layer /etc/mid-only /etc/bottom-only; "
                "test -e /etc/hidden && echo visible || echo hidden"},
               overlay_config(three_layers()));
  auto r = run_container("ov1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "top\nmid\nmid-only\nbottom-only\nhidden\n");
}

TEST_F(Overlay, WritesLandInUpperDirOnly) {
  auto layers = three_layers();
  auto before = snapshot(dir_ / "layers");
  write_config({"sh", "-c",
                "echo new > /etc/written && echo changed > /etc/layer && "
                "rm /etc/bottom-only && mkdir /newdir"},
               overlay_config(layers));
  auto r = run_container("ov2");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(read_text(upper_ / "etc/written"), "new\n");
  EXPECT_EQ(read_text(upper_ / "etc/layer"), "changed\n");
  EXPECT_TRUE(fs::is_directory(upper_ / "newdir"));
  // The removal is recorded as a whiteout in upper; the bottom layer still has the file.
  struct stat st {};
  ASSERT_EQ(::lstat((upper_ / "etc/bottom-only").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(read_text(dir_ / "layers/bottom/etc/bottom-only"), "bottom-only\n");
  EXPECT_EQ(snapshot(dir_ / "layers"), before) << "a layer directory changed";
}

TEST_F(Overlay, ReadonlyRootRefusesWrites) {
  auto c = overlay_config(three_layers());
  c["root"]["readonly"] = true;
  write_config({"sh", "-c", "cat /etc/who; echo x > /etc/new"}, c);
  auto r = run_container("ov3");
  EXPECT_NE(r.code, 0);
  EXPECT_EQ(r.out, "top\n");
  EXPECT_NE(r.err.find("Read-only file system"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(upper_ / "etc/new"));
}

// 60 layers with long paths: the lowerdir option string exceeds a page (4096 bytes).
TEST_F(Overlay, ManyLayersBeyondOnePageOfOptions) {
  const int kLayers = 60;
  auto base = dir_ / "layers-with-a-rather-long-directory-name-to-grow-the-option-string";
  std::vector<std::string> layers;
  std::size_t option_bytes = 0;
  for (int i = 0; i < kLayers; ++i) {
    auto layer = base / ("layer-" + std::to_string(i) + "-padding-padding-padding-padding");
    if (i == kLayers - 1)
      make_rootfs(layer);
    else
      fs::create_directories(layer / "etc");
    write_text(layer / "etc/top", std::to_string(i) + "\n");
    write_text(layer / ("etc/layer-" + std::to_string(i)), std::to_string(i) + "\n");
    layers.push_back(layer.string());
    option_bytes += layer.string().size() + 1;
  }
  ASSERT_GT(option_bytes, 4096u);
  write_config({"sh", "-c", "cat /etc/top /etc/layer-59 /etc/layer-30; ls /etc | grep -c layer-"},
               overlay_config(layers));
  auto r = run_container("ov4");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "0\n59\n30\n60\n");
}

TEST_F(Overlay, NothingMountedAfterDelete) {
  write_config({"sleep", "1000"}, overlay_config(three_layers()));
  ASSERT_EQ(droplet({"create", "-b", bundle_.string(), "ov5"}).code, 0);
  ASSERT_EQ(droplet({"start", "ov5"}).code, 0);
  auto r = droplet({"exec", "ov5", "cat", "/etc/who"});
  EXPECT_EQ(r.out, "top\n") << r.err;
  ASSERT_EQ(droplet({"delete", "-f", "ov5"}).code, 0);
  EXPECT_FALSE(is_mounted(merged_));
  EXPECT_TRUE(fs::is_empty(merged_)) << "rootfs mount point not empty after delete";
  expect_no_leftovers("ov5");
}

}  // namespace
}  // namespace droplet_test

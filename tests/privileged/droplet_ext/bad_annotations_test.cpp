// Malformed Raind annotations: create exits 1 with one line naming the problem, before anything
// is half-created (no state dir, veth, mount or cgroup). The network cases run only inside
// scripts/sandbox.sh's private network namespace.
#include "ext_fixture.hpp"

namespace droplet_test {
namespace {

class BadNetAnnotation : public ExtTest {
 protected:
  void SetUp() override {
    ExtTest::SetUp();
    if (IsSkipped()) return;
    if (!in_sandbox()) GTEST_SKIP() << "network tests run only under scripts/sandbox.sh";
    make_bridge("br-t", "10.166.7.254/24");
  }

  static json valid() {
    return {{"bridgeInterface", "br-t"},
            {"interface",
             {{"name", "rd_bad"},
              {"ipv4", {{"address", "10.166.7.2/24"}, {"gateway", "10.166.7.254"}}}}}};
  }

  void expect_refused(const std::string& id, const std::string& annotation,
                      const std::string& needle) {
    write_config({"true"}, annotated_config({}, "io.raind.net.config", annotation));
    expect_create_fails(id, needle);
  }
};

TEST_F(BadNetAnnotation, InvalidJson) {
  expect_refused("bn1", "{\"bridgeInterface\": \"br-t\", ", "io.raind.net.config");
}

TEST_F(BadNetAnnotation, MissingAddress) {
  auto n = valid();
  n["interface"]["ipv4"].erase("address");
  expect_refused("bn2", n.dump(), "address");
}

TEST_F(BadNetAnnotation, BadCidr) {
  auto n = valid();
  n["interface"]["ipv4"]["address"] = "10.166.7.300/24";
  expect_refused("bn3", n.dump(), "10.166.7.300");
}

TEST_F(BadNetAnnotation, InterfaceNameTooLong) {
  auto n = valid();
  n["interface"]["name"] = "rd_0123456789abc";  // 16 bytes
  expect_refused("bn4", n.dump(), "rd_0123456789abc");
}

TEST_F(BadNetAnnotation, BridgeDoesNotExist) {
  auto n = valid();
  n["bridgeInterface"] = "br-missing";
  expect_refused("bn5", n.dump(), "br-missing");
}

TEST_F(BadNetAnnotation, NoNetworkNamespace) {
  auto c = annotated_config({}, "io.raind.net.config", valid().dump());
  auto& ns = c["linux"]["namespaces"];
  for (std::size_t i = 0; i < ns.size(); ++i)
    if (ns[i]["type"] == "network") ns.erase(i);
  write_config({"true"}, c);
  expect_create_fails("bn6", "network");
}

class BadImageAnnotation : public ExtTest {
 protected:
  void SetUp() override {
    ExtTest::SetUp();
    if (IsSkipped()) return;
    fs::create_directories(bundle_ / "merged");
    for (auto d : {"layers/top", "layers/bottom", "upper", "work"})
      fs::create_directories(dir_ / d);
  }

  json valid() {
    return {{"rootfsType", "overlay"},
            {"imageLayer", {(dir_ / "layers/top").string(), (dir_ / "layers/bottom").string()}},
            {"upperDir", (dir_ / "upper").string()},
            {"workDir", (dir_ / "work").string()}};
  }

  void expect_refused(const std::string& id, const std::string& annotation,
                      const std::string& needle) {
    auto c = annotated_config({}, "io.raind.image.config", annotation);
    c["root"]["path"] = "merged";
    write_config({"true"}, c);
    expect_create_fails(id, needle);
    EXPECT_FALSE(is_mounted(bundle_ / "merged"));
    EXPECT_TRUE(fs::is_empty(dir_ / "upper")) << "upper dir written";
  }
};

TEST_F(BadImageAnnotation, InvalidJson) {
  expect_refused("bi1", "{\"rootfsType\": overlay}", "io.raind.image.config");
}

TEST_F(BadImageAnnotation, MissingUpperDir) {
  auto i = valid();
  i.erase("upperDir");
  expect_refused("bi2", i.dump(), "upperDir");
}

TEST_F(BadImageAnnotation, LayerDirDoesNotExist) {
  auto i = valid();
  auto missing = (dir_ / "layers/missing").string();
  i["imageLayer"][1] = missing;
  expect_refused("bi3", i.dump(), missing);
}

TEST_F(BadImageAnnotation, RelativeLayerPath) {
  auto i = valid();
  i["imageLayer"][0] = "layers/top";
  expect_refused("bi4", i.dump(), "layers/top");
}

}  // namespace
}  // namespace droplet_test

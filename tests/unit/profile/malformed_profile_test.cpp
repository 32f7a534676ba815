// Malformed policy files give one precise error naming the file and the JSON path.
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "raind/oci/security_profile.hpp"
#include "raind/sys/files.hpp"
#include "raind/sys/temp_dir.hpp"

namespace raind::oci {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class MalformedProfile : public ::testing::Test {
 protected:
  void SetUp() override {
    auto dir = sys::TempDir::create("raind-profile");
    ASSERT_TRUE(dir) << dir.error().what();
    dir_ = std::move(*dir);
    fs::copy(fs::path(RAIND_SOURCE_DIR) / "policies", dir_.path(), fs::copy_options::recursive);
    auto text = sys::read_file(seccomp_file());
    ASSERT_TRUE(text);
    seccomp_ = json::parse(*text);
  }
  fs::path seccomp_file() const { return dir_ / std::string(kSeccompPolicyFile); }
  fs::path caps_file() const { return dir_ / std::string(kCapabilitiesPolicyFile); }
  void write(const fs::path& file, const std::string& text) {
    ASSERT_TRUE(sys::write_file(file, text));
  }
  // Loads and returns the error text; fails the test if loading succeeded.
  std::string load_error() {
    auto profile = load_security_profile(dir_.path());
    if (profile) {
      ADD_FAILURE() << "malformed profile was accepted";
      return {};
    }
    EXPECT_EQ(profile.error().code(), Errc::parse) << profile.error().what();
    return profile.error().what();
  }

  sys::TempDir dir_;
  json seccomp_;
};

TEST_F(MalformedProfile, CopiedPoliciesLoad) {
  auto profile = load_security_profile(dir_.path());
  EXPECT_TRUE(profile) << profile.error().what();
}

TEST_F(MalformedProfile, SyntaxErrorNamesFileAndByte) {
  write(seccomp_file(), "{\"defaultAction\": \"SCMP_ACT_ERRNO\",,}");
  auto err = load_error();
  EXPECT_NE(err.find(seccomp_file().string() + ": invalid JSON at byte 36"), std::string::npos)
      << err;
}

TEST_F(MalformedProfile, UnknownActionNamesJsonPath) {
  seccomp_["syscalls"][1]["action"] = "SCMP_ACT_NOPE";
  write(seccomp_file(), seccomp_.dump());
  auto err = load_error();
  EXPECT_NE(
      err.find(seccomp_file().string() + ": syscalls[1].action: unknown action \"SCMP_ACT_NOPE\""),
      std::string::npos)
      << err;
}

TEST_F(MalformedProfile, WrongTypeInArgNamesJsonPath) {
  auto& clone_rule = seccomp_["syscalls"][seccomp_["syscalls"].size() - 2];
  ASSERT_EQ(clone_rule["names"][0], "clone");
  clone_rule["args"][0]["value"] = "0x7E020000";
  write(seccomp_file(), seccomp_.dump());
  auto err = load_error();
  auto path = fmt::format("syscalls[{}].args[0].value: expected unsigned integer, got string",
                          seccomp_["syscalls"].size() - 2);
  EXPECT_NE(err.find(path), std::string::npos) << err;
}

TEST_F(MalformedProfile, ArgIndexAboveFiveIsRejected) {
  seccomp_["syscalls"][1]["args"][0]["index"] = 6;
  write(seccomp_file(), seccomp_.dump());
  EXPECT_NE(load_error().find("syscalls[1].args[0].index: value 6 out of range (max 5)"),
            std::string::npos);
}

TEST_F(MalformedProfile, UnknownFieldIsRejected) {
  seccomp_["syscalls"][0]["nmaes"] = json::array({"read"});
  write(seccomp_file(), seccomp_.dump());
  EXPECT_NE(load_error().find("syscalls[0].nmaes: unknown field"), std::string::npos);
}

TEST_F(MalformedProfile, MissingDefaultActionIsRejected) {
  seccomp_.erase("defaultAction");
  write(seccomp_file(), seccomp_.dump());
  EXPECT_NE(load_error().find(seccomp_file().string() + ": defaultAction: required"),
            std::string::npos);
}

TEST_F(MalformedProfile, UnknownArchitectureIsRejected) {
  seccomp_["architectures"][3] = "SCMP_ARCH_VAX";
  write(seccomp_file(), seccomp_.dump());
  EXPECT_NE(load_error().find("architectures[3]: unknown architecture \"SCMP_ARCH_VAX\""),
            std::string::npos);
}

TEST_F(MalformedProfile, ErrnoRetOnAllowIsRejected) {
  seccomp_["syscalls"][0]["errnoRet"] = 1;
  write(seccomp_file(), seccomp_.dump());
  EXPECT_NE(load_error().find("syscalls[0].errnoRet: only valid with SCMP_ACT_ERRNO"),
            std::string::npos);
}

TEST_F(MalformedProfile, UnknownCapabilityNamesFileAndIndex) {
  write(caps_file(), R"({"capabilities": ["CAP_CHOWN", "CAP_SYS_GODMODE"]})");
  auto err = load_error();
  EXPECT_NE(
      err.find(caps_file().string() + ": capabilities[1]: unknown capability \"CAP_SYS_GODMODE\""),
      std::string::npos)
      << err;
}

TEST_F(MalformedProfile, DuplicateCapabilityIsRejected) {
  write(caps_file(), R"({"capabilities": ["CAP_KILL", "CAP_KILL"]})");
  EXPECT_NE(load_error().find("capabilities[1]: duplicate \"CAP_KILL\""), std::string::npos);
}

TEST_F(MalformedProfile, CapabilitiesAsBareArrayIsRejected) {
  write(caps_file(), R"(["CAP_KILL"])");
  EXPECT_NE(load_error().find(caps_file().string() + ": (document): expected object, got array"),
            std::string::npos);
}

TEST_F(MalformedProfile, MissingFileNamesIt) {
  fs::remove(caps_file());
  auto profile = load_security_profile(dir_.path());
  ASSERT_FALSE(profile);
  EXPECT_EQ(profile.error().code(), Errc::not_found);
  EXPECT_NE(profile.error().what().find(caps_file().string()), std::string::npos)
      << profile.error().what();
}

TEST_F(MalformedProfile, AppArmorFileWithoutProfileStatementIsRejected) {
  auto file = dir_ / std::string(kAppArmorPolicyFile);
  write(file, "# profile commented-out {\n#include <tunables/global>\n");
  auto err = load_error();
  EXPECT_NE(err.find(file.string() + ": no `profile NAME` statement"), std::string::npos) << err;
}

}  // namespace
}  // namespace raind::oci

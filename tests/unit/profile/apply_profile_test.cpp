// apply_security_profile puts the profile into a spec so that the written config.json carries
// it, for parsed documents (raw kept) and generated ones alike.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "raind/oci/security_profile.hpp"

namespace raind::oci {
namespace {

using nlohmann::json;

SecurityProfile sample_profile() {
  SecurityProfile p;
  p.seccomp.default_action = "SCMP_ACT_ERRNO";
  p.seccomp.default_errno_ret = 1;
  p.seccomp.architectures = {"SCMP_ARCH_X86_64"};
  p.seccomp.syscalls = {
      {{"read", "write"}, "SCMP_ACT_ALLOW", std::nullopt, {}},
      {{"clone"}, "SCMP_ACT_ALLOW", std::nullopt, {{0, 0x7E020000, 0, "SCMP_CMP_MASKED_EQ"}}},
      {{"clone3"}, "SCMP_ACT_ERRNO", 38u, {}}};
  p.capabilities = {"CAP_KILL", "CAP_CHOWN"};
  p.apparmor_profile = "raind-default";
  return p;
}

void expect_applied(const Spec& spec) {
  ASSERT_TRUE(spec.process && spec.process->capabilities);
  const auto& caps = *spec.process->capabilities;
  std::vector<std::string> want{"CAP_KILL", "CAP_CHOWN"};
  EXPECT_EQ(caps.bounding, want);
  EXPECT_EQ(caps.effective, want);
  EXPECT_EQ(caps.permitted, want);
  EXPECT_TRUE(caps.inheritable.empty());
  EXPECT_TRUE(caps.ambient.empty());
  EXPECT_TRUE(spec.process->no_new_privileges);
  EXPECT_EQ(spec.process->apparmor_profile, "raind-default");
  ASSERT_TRUE(spec.linux_ && spec.linux_->seccomp);
  EXPECT_EQ(spec.linux_->seccomp->default_action, "SCMP_ACT_ERRNO");
}

// What a runtime reads back after config.json is written.
void expect_written(const Spec& spec) {
  json written = spec_to_json(spec);
  auto reparsed = spec_from_json(written);
  ASSERT_TRUE(reparsed) << reparsed.error().what();
  expect_applied(*reparsed);
  const auto& s = *reparsed->linux_->seccomp;
  EXPECT_EQ(s.default_errno_ret, 1u);
  EXPECT_EQ(s.architectures, std::vector<std::string>{"SCMP_ARCH_X86_64"});
  ASSERT_EQ(s.syscalls.size(), 3u);
  EXPECT_EQ(s.syscalls[0].names, (std::vector<std::string>{"read", "write"}));
  ASSERT_EQ(s.syscalls[1].args.size(), 1u);
  EXPECT_EQ(s.syscalls[1].args[0].value, 0x7E020000u);
  EXPECT_EQ(s.syscalls[1].args[0].op, "SCMP_CMP_MASKED_EQ");
  EXPECT_EQ(s.syscalls[2].errno_ret, 38u);
  EXPECT_EQ(written["process"]["apparmorProfile"], "raind-default");
  EXPECT_EQ(written["process"]["noNewPrivileges"], true);
}

TEST(ApplyProfile, OverridesAParsedConfigAndKeepsItsOtherFields) {
  auto spec = parse_spec(R"({
    "ociVersion": "1.2.0",
    "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0},
                "capabilities": {"bounding": ["CAP_SYS_ADMIN"], "effective": ["CAP_SYS_ADMIN"],
                                 "inheritable": ["CAP_SYS_ADMIN"], "permitted": ["CAP_SYS_ADMIN"],
                                 "ambient": ["CAP_SYS_ADMIN"]}},
    "root": {"path": "rootfs"},
    "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}],
              "seccomp": {"defaultAction": "SCMP_ACT_ALLOW"}},
    "vendorExtension": {"kept": true}
  })");
  ASSERT_TRUE(spec) << spec.error().what();
  apply_security_profile(*spec, sample_profile());
  expect_applied(*spec);
  expect_written(*spec);
  json written = spec_to_json(*spec);
  EXPECT_EQ(written["vendorExtension"]["kept"], true);
  EXPECT_EQ(written["linux"]["namespaces"].size(), 2u);
  EXPECT_EQ(written["process"]["args"], json::array({"sh"}));
}

TEST(ApplyProfile, WorksOnAGeneratedDefaultSpec) {
  Spec spec = default_spec(false);
  apply_security_profile(spec, sample_profile());
  expect_applied(spec);
  expect_written(spec);
  // The generated spec's namespaces survive the raw rebuild.
  auto reparsed = spec_from_json(spec_to_json(spec));
  ASSERT_TRUE(reparsed);
  EXPECT_TRUE(reparsed->has_namespace("mount"));
}

TEST(ApplyProfile, CreatesProcessAndLinuxWhenAbsent) {
  Spec spec;
  spec.oci_version = "1.2.0";
  apply_security_profile(spec, sample_profile());
  expect_applied(spec);
}

TEST(ApplyProfile, SeccompJsonRoundTripsThroughTheStrictParser) {
  auto p = sample_profile();
  auto parsed = parse_seccomp_policy(seccomp_to_json(p.seccomp).dump(), "round-trip");
  ASSERT_TRUE(parsed) << parsed.error().what();
  EXPECT_EQ(parsed->syscalls.size(), 3u);
  EXPECT_EQ(parsed->syscalls[2].errno_ret, 38u);
}

}  // namespace
}  // namespace raind::oci

#include "raind/oci/runtime_spec.hpp"

#include <gtest/gtest.h>

namespace raind::oci {
namespace {

constexpr std::string_view kMinimal = R"({
  "ociVersion": "1.2.0",
  "process": {"args": ["sh"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
  "root": {"path": "rootfs"},
  "linux": {"namespaces": [{"type": "pid"}, {"type": "mount"}]}
})";

TEST(RuntimeSpec, ParsesMinimalDocument) {
  auto spec = parse_spec(kMinimal);
  ASSERT_TRUE(spec) << spec.error().what();
  EXPECT_EQ(spec->oci_version, "1.2.0");
  ASSERT_TRUE(spec->process);
  EXPECT_EQ(spec->process->args, std::vector<std::string>{"sh"});
  EXPECT_EQ(spec->root->path, "rootfs");
  EXPECT_TRUE(spec->has_namespace("pid"));
  EXPECT_FALSE(spec->has_namespace("user"));
  EXPECT_TRUE(validate_spec(*spec));
}

TEST(RuntimeSpec, IgnoresUnknownFieldsAndKeepsThemForRoundTrip) {
  auto spec =
      parse_spec(R"({"ociVersion":"1.0.2","root":{"path":"r"},"process":{"args":["x"],"cwd":"/"},
                             "vendorExtension":{"a":1}})");
  ASSERT_TRUE(spec) << spec.error().what();
  auto out = spec_to_json(*spec);
  EXPECT_EQ(out["vendorExtension"]["a"], 1);
}

TEST(RuntimeSpec, TypeErrorNamesTheJsonPath) {
  auto spec =
      parse_spec(R"({"ociVersion":"1.2.0","process":{"args":["sh"],"user":{"uid":"root"}}})");
  ASSERT_FALSE(spec);
  EXPECT_EQ(spec.error().code(), Errc::parse);
  EXPECT_NE(spec.error().what().find("process.user.uid: expected unsigned integer, got string"),
            std::string::npos)
      << spec.error().what();
}

TEST(RuntimeSpec, NestedArrayErrorsCarryIndexes) {
  auto spec =
      parse_spec(R"({"ociVersion":"1.2.0","mounts":[{"destination":"/a"},{"destination":5}]})");
  ASSERT_FALSE(spec);
  EXPECT_NE(spec.error().what().find("mounts[1].destination"), std::string::npos)
      << spec.error().what();
}

TEST(RuntimeSpec, SyntaxErrorCarriesByteOffset) {
  auto spec = parse_spec(R"({"ociVersion": "1.2.0", "process": )");
  ASSERT_FALSE(spec);
  EXPECT_NE(spec.error().what().find("config.json: invalid JSON at byte"), std::string::npos)
      << spec.error().what();
  auto empty = parse_spec("");
  ASSERT_FALSE(empty);
  EXPECT_NE(empty.error().what().find("empty document"), std::string::npos);
}

TEST(RuntimeSpec, ParsesResourcesSeccompHooksAndMappings) {
  auto spec = parse_spec(R"({
    "ociVersion": "1.2.0", "root": {"path": "rootfs", "readonly": true},
    "process": {"args": ["sh"], "cwd": "/", "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
                "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"]}, "oomScoreAdj": 100},
    "hooks": {"createRuntime": [{"path": "/bin/true", "args": ["true"], "timeout": 5}],
              "stopContainer": [{"path": "/bin/false"}]},
    "linux": {
      "namespaces": [{"type": "user"}, {"type": "mount"}, {"type": "time"}],
      "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
      "gidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
      "timeOffsets": {"monotonic": {"secs": 10, "nanosecs": 5}},
      "resources": {"memory": {"limit": 33554432, "swap": 33554432}, "cpu": {"quota": 20000, "period": 100000, "cpus": "0"},
                    "pids": {"limit": 10}, "devices": [{"allow": false, "access": "rwm"}],
                    "hugepageLimits": [{"pageSize": "2MB", "limit": 0}]},
      "seccomp": {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
                  "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
                                "args": [{"index": 1, "value": 448, "op": "SCMP_CMP_EQ"}]}]},
      "sysctl": {"net.ipv4.ip_forward": "1"},
      "maskedPaths": ["/proc/kcore"], "readonlyPaths": ["/proc/sys"]
    }})");
  ASSERT_TRUE(spec) << spec.error().what();
  ASSERT_TRUE(validate_spec(*spec)) << validate_spec(*spec).error().what();
  const auto& l = *spec->linux_;
  EXPECT_EQ(l.uid_mappings.at(0).host_id, 100000u);
  EXPECT_EQ(l.time_offsets.at("monotonic").first, 10);
  EXPECT_EQ(l.resources->memory->limit, 33554432);
  EXPECT_EQ(l.resources->cpu->cpus, "0");
  EXPECT_EQ(l.resources->pids->limit, 10);
  EXPECT_EQ(l.resources->hugepage_limits.at(0).page_size, "2MB");
  EXPECT_EQ(l.seccomp->syscalls.at(0).args.at(0).value, 448u);
  EXPECT_EQ(l.sysctl.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(spec->hooks->create_runtime.at(0).timeout, 5);
  EXPECT_EQ(spec->hooks->stop_container.size(), 1u);
  EXPECT_EQ(spec->process->rlimits.at(0).soft, 512u);
  EXPECT_EQ(spec->process->oom_score_adj, 100);
}

TEST(RuntimeSpec, ValidationRejectsUnknownAndDuplicateNamespaces) {
  auto unknown =
      parse_spec(R"({"ociVersion":"1.2.0","root":{"path":"r"},"process":{"args":["x"],"cwd":"/"},
                                "linux":{"namespaces":[{"type":"bogus"}]}})");
  ASSERT_TRUE(unknown);
  auto status = validate_spec(*unknown);
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().what().find("unknown namespace type \"bogus\""), std::string::npos)
      << status.error().what();

  auto dup =
      parse_spec(R"({"ociVersion":"1.2.0","root":{"path":"r"},"process":{"args":["x"],"cwd":"/"},
                            "linux":{"namespaces":[{"type":"pid"},{"type":"pid"}]}})");
  ASSERT_TRUE(dup);
  EXPECT_FALSE(validate_spec(*dup));
}

TEST(RuntimeSpec, ValidationRequiresArgsRootAndAbsolutePaths) {
  auto no_args = parse_spec(R"({"ociVersion":"1.2.0","root":{"path":"r"},"process":{"cwd":"/"}})");
  ASSERT_TRUE(no_args);
  EXPECT_FALSE(validate_spec(*no_args));
  auto rel_cwd = parse_spec(
      R"({"ociVersion":"1.2.0","root":{"path":"r"},"process":{"args":["x"],"cwd":"tmp"}})");
  ASSERT_TRUE(rel_cwd);
  EXPECT_FALSE(validate_spec(*rel_cwd));
  auto no_root = parse_spec(R"({"ociVersion":"1.2.0","process":{"args":["x"],"cwd":"/"}})");
  ASSERT_TRUE(no_root);
  EXPECT_FALSE(validate_spec(*no_root));
  auto maps_without_userns =
      parse_spec(R"({"ociVersion":"1.2.0","root":{"path":"r"},"process":{"args":["x"],"cwd":"/"},
      "linux":{"uidMappings":[{"containerID":0,"hostID":1,"size":1}]}})");
  ASSERT_TRUE(maps_without_userns);
  EXPECT_FALSE(validate_spec(*maps_without_userns));
  auto hostname_without_uts =
      parse_spec(R"({"ociVersion":"1.2.0","root":{"path":"r"},"process":{"args":["x"],"cwd":"/"},
      "hostname":"h","linux":{"namespaces":[{"type":"pid"}]}})");
  ASSERT_TRUE(hostname_without_uts);
  EXPECT_FALSE(validate_spec(*hostname_without_uts));
}

TEST(RuntimeSpec, RejectsInvalidHookTimeoutAndOomScore) {
  EXPECT_FALSE(
      parse_spec(R"({"ociVersion":"1","hooks":{"poststart":[{"path":"/x","timeout":0}]}})"));
  EXPECT_FALSE(parse_spec(R"({"ociVersion":"1","process":{"args":["x"],"oomScoreAdj":5000}})"));
}

TEST(RuntimeSpec, DefaultSpecIsValidAndRoundTrips) {
  for (bool rootless : {false, true}) {
    Spec spec = default_spec(rootless);
    ASSERT_TRUE(validate_spec(spec));
    auto again = spec_from_json(spec_to_json(spec));
    ASSERT_TRUE(again) << again.error().what();
    EXPECT_EQ(again->process->args, spec.process->args);
    EXPECT_EQ(again->mounts.size(), spec.mounts.size());
    EXPECT_EQ(again->linux_->namespaces.size(), spec.linux_->namespaces.size());
    EXPECT_EQ(again->has_namespace("user"), rootless);
    EXPECT_TRUE(validate_spec(*again));
  }
}

TEST(RuntimeSpec, StateRoundTrip) {
  State s;
  s.id = "abc";
  s.status = "running";
  s.pid = 42;
  s.bundle = "/b";
  s.annotations["k"] = "v";
  auto parsed = parse_state(state_to_json(s).dump());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->id, "abc");
  EXPECT_EQ(parsed->pid, 42);
  EXPECT_EQ(parsed->annotations.at("k"), "v");
  // A stopped container has no pid field.
  s.pid = 0;
  EXPECT_FALSE(state_to_json(s).contains("pid"));
}

}  // namespace
}  // namespace raind::oci

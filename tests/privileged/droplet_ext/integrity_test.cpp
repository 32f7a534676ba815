// Config integrity: create hashes config.json and init re-checks it, so a config edited between
// create and start is refused, the container ends stopped and the audit log says why.
#include "ext_fixture.hpp"

namespace droplet_test {
namespace {

using Integrity = ExtTest;

TEST_F(Integrity, ConfigChangedBetweenCreateAndStartIsRefused) {
  auto c = default_config({"sleep", "1000"});
  c["annotations"]["io.raind.integrity"] = "strict";  // what condenserd sets
  c = write_config({"sleep", "1000"}, c);
  ASSERT_EQ(audited({"create", "-b", bundle_.string(), "i1"}).code, 0);
  // The edit an attacker would make: a different process.
  c["process"]["args"] = {"sh", "-c", "touch /tampered"};
  write_text(bundle_ / "config.json", c.dump(2));

  auto r = audited({"start", "i1"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("config.json changed since create"), std::string::npos) << r.err;
  EXPECT_EQ(state_of("i1")["status"], "stopped");
  EXPECT_FALSE(fs::exists(bundle_ / "rootfs/tampered")) << "tampered process ran";

  bool found = false;
  for (const auto& rec : read_jsonl(audit_)) {
    if (rec.value("result", "") != "fail") continue;
    ASSERT_TRUE(rec.contains("error")) << rec.dump();
    if (rec["error"].value("stage", "") != "integrity") continue;
    found = true;
    EXPECT_EQ(rec["container_id"], "i1");
    EXPECT_TRUE(rec["error"]["message"].is_string()) << rec.dump();
  }
  EXPECT_TRUE(found) << "no integrity failure record in " << read_text(audit_);
  EXPECT_EQ(droplet({"delete", "-f", "i1"}).code, 0);
  expect_no_leftovers("i1");
}

// Plain OCI clients: "any updates to config.json after create MUST NOT affect the container"
// (runtime-spec). Without the strict annotation the container runs the config create read.
TEST_F(Integrity, WithoutStrictModeAnEditAfterCreateHasNoEffect) {
  auto c = write_config({"sh", "-c", "echo from-create"});
  ASSERT_EQ(audited({"create", "-b", bundle_.string(), "i3"}).code, 0);
  c["process"]["args"] = {"sh", "-c", "touch /tampered"};
  write_text(bundle_ / "config.json", c.dump(2));
  auto r = audited({"start", "i3"});
  EXPECT_EQ(r.code, 0) << r.err;
  for (int i = 0; i < 100 && state_of("i3")["status"] != "stopped"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(fs::exists(bundle_ / "rootfs/tampered")) << "the edited process ran";
  EXPECT_EQ(droplet({"delete", "-f", "i3"}).code, 0);
}

TEST_F(Integrity, UnmodifiedConfigStarts) {
  write_config({"sleep", "1000"});
  ASSERT_EQ(audited({"create", "-b", bundle_.string(), "i2"}).code, 0);
  auto r = audited({"start", "i2"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(state_of("i2")["status"], "running");
  for (const auto& rec : read_jsonl(audit_)) EXPECT_EQ(rec["result"], "success") << rec.dump();
  EXPECT_EQ(droplet({"delete", "-f", "i2"}).code, 0);
  expect_no_leftovers("i2");
}

}  // namespace
}  // namespace droplet_test

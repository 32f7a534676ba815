// --audit-log: one JSON line per lifecycle step and hook with the container, its config digest
// and the isolation it asked for; failures carry the stage. The file is 0640 and never followed
// through a symlink.
#include "ext_fixture.hpp"

namespace droplet_test {
namespace {

class Audit : public ExtTest {
 protected:
  // The fields every record carries, whatever the event.
  void expect_common_fields(const json& rec) {
    SCOPED_TRACE(rec.dump());
    for (auto key : {"ts", "log_version", "runtime_version", "container_id", "bundle",
                     "config_path", "state_path"})
      EXPECT_TRUE(rec.contains(key) && rec[key].is_string()) << key;
    EXPECT_EQ(rec.value("runtime", ""), "droplet");
    EXPECT_FALSE(rec.value("runtime_version", "").empty());
    static const std::vector<std::string> events{"create", "start", "kill", "delete",
                                                 "hook",   "init",  "exec"};
    EXPECT_NE(std::find(events.begin(), events.end(), rec.value("event", "")), events.end());
    ASSERT_TRUE(rec.contains("oci") && rec["oci"].is_object());
    EXPECT_TRUE(rec["oci"].contains("config_sha256"));
    EXPECT_TRUE(rec["oci"].contains("process_arg0"));
    ASSERT_TRUE(rec.contains("namespaces") && rec["namespaces"].is_object());
    for (auto ns : {"mount", "network", "uts", "pid", "ipc", "user", "cgroup"})
      EXPECT_TRUE(rec["namespaces"].contains(ns) && rec["namespaces"][ns].is_boolean()) << ns;
    ASSERT_TRUE(rec.contains("capabilities") && rec["capabilities"].is_object());
    for (auto set : {"bounding", "effective", "permitted", "inheritable", "ambient"})
      EXPECT_TRUE(rec["capabilities"].contains(set) && rec["capabilities"][set].is_array()) << set;
    ASSERT_TRUE(rec.contains("seccomp") && rec["seccomp"].is_object());
    EXPECT_TRUE(rec["seccomp"].contains("default_action"));
    ASSERT_TRUE(rec.contains("lsm") && rec["lsm"].contains("apparmor"));
    EXPECT_TRUE(rec["lsm"]["apparmor"].contains("profile"));
    auto result = rec.value("result", "");
    EXPECT_TRUE(result == "success" || result == "fail") << result;
  }

  static std::vector<json> with_event(const std::vector<json>& recs, const std::string& event) {
    std::vector<json> out;
    for (const auto& r : recs)
      if (r.value("event", "") == event) out.push_back(r);
    return out;
  }
};

TEST_F(Audit, LifecycleRecordsCarryTheListedFields) {
  auto c = default_config({});
  c["linux"]["seccomp"] = {{"defaultAction", "SCMP_ACT_ALLOW"}};
  c["hooks"] = {
      {"createRuntime",
       {{{"path", "/bin/sh"}, {"args", {"sh", "-c", "cat > /dev/null; echo hook-stderr >&2"}}}}}};
  write_config({"sleep", "1000"}, c);
  auto config_sha = sha256_of(bundle_ / "config.json");

  ASSERT_EQ(audited({"create", "-b", bundle_.string(), "a1"}).code, 0);
  ASSERT_EQ(audited({"start", "a1"}).code, 0);
  auto r = audited({"exec", "a1", "true"});
  EXPECT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(audited({"kill", "a1", "KILL"}).code, 0);
  for (int i = 0; i < 100 && state_of("a1")["status"] != "stopped"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(audited({"delete", "a1"}).code, 0);

  auto recs = read_jsonl(audit_);
  ASSERT_FALSE(recs.empty());
  for (const auto& rec : recs) {
    expect_common_fields(rec);
    EXPECT_EQ(rec["container_id"], "a1") << rec.dump();
    EXPECT_EQ(rec["result"], "success") << rec.dump();
  }
  for (auto event : {"create", "start", "exec", "kill", "delete", "hook"})
    EXPECT_FALSE(with_event(recs, event).empty()) << "no " << event << " record";

  for (const auto& rec : with_event(recs, "create")) {
    SCOPED_TRACE(rec.dump());
    EXPECT_EQ(rec["bundle"], bundle_.string());
    EXPECT_EQ(rec["config_path"], (bundle_ / "config.json").string());
    EXPECT_EQ(rec["oci"]["config_sha256"], config_sha);
    EXPECT_EQ(rec["oci"]["process_arg0"], "sleep");
    EXPECT_EQ(rec["namespaces"]["mount"], true);
    EXPECT_EQ(rec["namespaces"]["network"], true);
    EXPECT_EQ(rec["namespaces"]["user"], false);
    EXPECT_EQ(rec["capabilities"]["bounding"], c["process"]["capabilities"]["bounding"]);
    EXPECT_EQ(rec["seccomp"]["default_action"], "SCMP_ACT_ALLOW");
  }
  // Every step after create still names the config it was created from.
  for (auto event : {"start", "kill", "delete"})
    for (const auto& rec : with_event(recs, event))
      EXPECT_EQ(rec["oci"]["config_sha256"], config_sha) << rec.dump();

  auto hooks = with_event(recs, "hook");
  ASSERT_FALSE(hooks.empty());
  const auto& hook = hooks.front()["hook"];
  SCOPED_TRACE(hooks.front().dump());
  EXPECT_EQ(hook.value("phase", ""), "createRuntime");
  EXPECT_EQ(hook.value("path", ""), "/bin/sh");
  EXPECT_EQ(hook.value("args_sha256", "").size(), 64u);
  EXPECT_EQ(hook.value("stdin_sha256", "").size(), 64u);
  EXPECT_GT(hook.value("stdin_bytes", 0), 0);
  EXPECT_EQ(hook.value("exit_code", -1), 0);
  EXPECT_TRUE(hook.contains("duration_ms") && hook["duration_ms"].is_number());
  EXPECT_NE(hook.value("stderr_tail", "").find("hook-stderr"), std::string::npos);

  auto kills = with_event(recs, "kill");
  ASSERT_FALSE(kills.empty());
  EXPECT_TRUE(kills.front().contains("signals")) << kills.front().dump();
  auto execs = with_event(recs, "exec");
  ASSERT_FALSE(execs.empty());
  ASSERT_TRUE(execs.front().contains("exec_command")) << execs.front().dump();
  EXPECT_NE(execs.front()["exec_command"].dump().find("true"), std::string::npos);
}

TEST_F(Audit, FailedCreateRecordsStageAndMessage) {
  auto c = default_config({});
  c["root"]["path"] = "missing-rootfs";
  write_config({"true"}, c);
  auto r = audited({"create", "-b", bundle_.string(), "a2"});
  EXPECT_EQ(r.code, 1);
  auto recs = read_jsonl(audit_);
  ASSERT_FALSE(recs.empty());
  bool found = false;
  for (const auto& rec : recs) {
    expect_common_fields(rec);
    if (rec["result"] != "fail") continue;
    found = true;
    ASSERT_TRUE(rec.contains("error") && rec["error"].is_object()) << rec.dump();
    EXPECT_FALSE(rec["error"].value("stage", "").empty()) << rec.dump();
    EXPECT_NE(rec["error"].value("message", "").find("missing-rootfs"), std::string::npos)
        << rec.dump();
  }
  EXPECT_TRUE(found) << read_text(audit_);
  expect_no_leftovers("a2");
}

TEST_F(Audit, FileModeIs0640) {
  write_config({"true"});
  ASSERT_EQ(audited({"run", "-b", bundle_.string(), "a3"}).code, 0);
  struct stat st {};
  ASSERT_EQ(::stat(audit_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_FALSE(read_jsonl(audit_).empty());
}

TEST_F(Audit, SymlinkAtAuditPathIsRefused) {
  auto target = dir_ / "target.jsonl";
  write_text(target, "");
  fs::create_symlink(target, audit_);
  write_config({"true"});
  auto r = audited({"create", "-b", bundle_.string(), "a4"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find(audit_.string()), std::string::npos) << r.err;
  EXPECT_TRUE(r.err.find("symbolic link") != std::string::npos ||
              r.err.find("symlink") != std::string::npos)
      << r.err;
  EXPECT_EQ(read_text(target), "") << "wrote through the symlink";
  expect_no_leftovers("a4");
}

}  // namespace
}  // namespace droplet_test

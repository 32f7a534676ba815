#pragma once
// Helpers for the tests of droplet's Raind extensions (overlay rootfs, networking, config
// integrity, audit log): mount and link inspection from the host side, JSONL reading, and the
// leftover checks every failing create must pass.
#include <sys/sysmacros.h>

#include <map>

#include "../droplet/droplet_fixture.hpp"

namespace droplet_test {

// Mount points in this process's mount namespace (field 5 of mountinfo).
inline std::vector<std::string> mount_points() {
  std::vector<std::string> out;
  std::istringstream in(read_text("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string f;
    for (int i = 0; i < 5 && fields >> f; ++i) {
    }
    out.push_back(f);
  }
  return out;
}

inline bool is_mounted(const fs::path& p) {
  auto points = mount_points();
  return std::find(points.begin(), points.end(), p.string()) != points.end();
}

// Every line of a JSONL file, parsed; a line that is not JSON fails the test.
inline std::vector<json> read_jsonl(const fs::path& p) {
  std::vector<json> out;
  std::istringstream in(read_text(p));
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = json::parse(line, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << "not JSON: " << line;
    if (!j.is_discarded()) out.push_back(std::move(j));
  }
  return out;
}

inline std::string sha256_of(const fs::path& p) {
  auto r = run_cmd({"sha256sum", p.string()});
  return r.out.substr(0, r.out.find(' '));
}

// Network interfaces of this netns as `ip -j link` reports them.
inline json links() {
  auto r = run_cmd({"ip", "-j", "link", "show"});
  auto j = json::parse(r.out, nullptr, false);
  return j.is_discarded() ? json::array() : j;
}

inline std::vector<std::string> raind_links() {
  std::vector<std::string> out;
  for (const auto& l : links()) {
    auto name = l.value("ifname", "");
    if (name.rfind("rd_", 0) == 0) out.push_back(name);
  }
  return out;
}

// The tests that touch links must run in scripts/sandbox.sh's private netns, never the host's.
inline bool in_sandbox() {
  return std::getenv("RAIND_TEST_ROOT") != nullptr;
}

class ExtTest : public DropletTest {
 protected:
  void SetUp() override {
    DropletTest::SetUp();
    if (!dir_.empty()) audit_ = dir_ / "audit.jsonl";
  }

  // droplet with --audit-log pointing at this test's audit file.
  Result audited(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), {"--audit-log", audit_.string()});
    return droplet(args, input);
  }

  // A bridge with the gateway address, as condenserd would have made it.
  void make_bridge(const std::string& name, const std::string& cidr) {
    ASSERT_EQ(run_cmd({"ip", "link", "add", name, "type", "bridge"}).code, 0);
    bridges_.push_back(name);
    ASSERT_EQ(run_cmd({"ip", "addr", "add", cidr, "dev", name}).code, 0);
    ASSERT_EQ(run_cmd({"ip", "link", "set", name, "up"}).code, 0);
  }

  void TearDown() override {
    DropletTest::TearDown();
    for (const auto& b : bridges_) run_cmd({"ip", "link", "del", b});
  }

  // A config with the annotation set (raw string, so malformed JSON can be passed).
  json annotated_config(const std::vector<std::string>& args, const std::string& key,
                        const std::string& value) {
    auto c = default_config(args);
    c["annotations"][key] = value;
    return c;
  }

  // create fails with exit 1 and one error line naming `needle`, leaving nothing behind.
  void expect_create_fails(const std::string& id, const std::string& needle) {
    auto links_before = raind_links();
    auto r = droplet({"create", "-b", bundle_.string(), id});
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
    EXPECT_EQ(count_error_lines(r.err), 1) << "expected one error line: " << r.err;
    expect_no_leftovers(id);
    EXPECT_EQ(raind_links(), links_before) << "veth left behind";
    for (const auto& d : own_cgroup_dirs("memory"))
      EXPECT_FALSE(fs::exists(d / cgroup_prefix_ / ("c" + std::to_string(configs_))))
          << "cgroup left behind";
  }

  static long count_error_lines(const std::string& err) {
    long n = 0;
    std::istringstream in(err);
    std::string line;
    while (std::getline(in, line))
      if (line.find("level=warn") == std::string::npos &&
          line.find("[warning]") == std::string::npos)
        ++n;
    return n;
  }

  std::vector<std::string> bridges_;
  fs::path audit_;
};

}  // namespace droplet_test

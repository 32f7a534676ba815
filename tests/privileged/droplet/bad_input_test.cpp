// Bad input: every case gives one clear line on stderr, exit status 1, and leaves no state
// directory, cgroup, mount or process behind.
#include "droplet_fixture.hpp"

namespace droplet_test {
namespace {

class BadInput : public DropletTest {
 protected:
  // Runs create and checks the failure shape and the absence of leftovers.
  void expect_create_fails(const std::string& id, const std::string& needle) {
    auto procs_before = count_droplet_processes();
    auto r = droplet({"create", "-b", bundle_.string(), id});
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_NE(r.err.find(needle), std::string::npos) << "stderr: " << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n') - count_warnings(r.err), 1)
        << "expected one error line: " << r.err;
    EXPECT_EQ(r.err.rfind("droplet: ", r.err.size()) != std::string::npos, true);
    expect_no_leftovers(id);
    EXPECT_EQ(count_droplet_processes(), procs_before);
    for (const auto& d : own_cgroup_dirs("memory"))
      EXPECT_FALSE(fs::exists(d / cgroup_prefix_ / ("c" + std::to_string(configs_))))
          << "cgroup left behind";
  }
  static long count_warnings(const std::string& err) {
    long n = 0;
    std::istringstream in(err);
    std::string line;
    while (std::getline(in, line))
      if (line.find("level=warn") != std::string::npos ||
          line.find("[warning]") != std::string::npos)
        ++n;
    return n;
  }
  int count_droplet_processes() {
    int n = 0;
    for (const auto& e : fs::directory_iterator("/proc")) {
      auto cmd = read_text(e.path() / "cmdline");
      if (cmd.find(root_.string()) != std::string::npos) ++n;
    }
    return n;
  }
};

TEST_F(BadInput, MalformedConfig) {
  write_config({"true"});
  write_text(bundle_ / "config.json", "{\"ociVersion\": \"1.0.2\", \"process\": {");
  expect_create_fails("bad1", "load config.json");
}

TEST_F(BadInput, WrongTypes) {
  auto c = default_config({"true"});
  c["process"]["user"]["uid"] = "root";
  write_text(bundle_ / "config.json", c.dump());
  expect_create_fails("bad2", "uid");
}

TEST_F(BadInput, MissingConfig) {
  expect_create_fails("bad3", "config.json");
}

TEST_F(BadInput, MissingRootfs) {
  auto c = default_config({"true"});
  c["root"]["path"] = "nonexistent";
  write_config({"true"}, c);
  expect_create_fails("bad4", "nonexistent");
}

TEST_F(BadInput, UnknownNamespace) {
  auto c = default_config({"true"});
  c["linux"]["namespaces"].push_back({{"type", "bogus"}});
  write_config({"true"}, c);
  expect_create_fails("bad5", "bogus");
}

TEST_F(BadInput, InvalidAndDuplicateIds) {
  write_config({"sleep", "100"});
  for (std::string id : {"a/b", "..", "has space", "semi;colon"}) {
    auto r = droplet({"create", "-b", bundle_.string(), id});
    EXPECT_EQ(r.code, 1) << id;
    EXPECT_NE(r.err.find("invalid container id"), std::string::npos) << r.err;
  }
  ASSERT_EQ(droplet({"create", "-b", bundle_.string(), "dup"}).code, 0);
  auto r = droplet({"create", "-b", bundle_.string(), "dup"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("container \"dup\" already exists"), std::string::npos) << r.err;
  EXPECT_EQ(state_of("dup")["status"], "created");  // the first one is untouched
  EXPECT_EQ(droplet({"delete", "-f", "dup"}).code, 0);
}

TEST_F(BadInput, UnknownIds) {
  for (std::vector<std::string> args : {std::vector<std::string>{"start", "ghost"},
                                        {"state", "ghost"},
                                        {"kill", "ghost"},
                                        {"delete", "ghost"},
                                        {"pause", "ghost"},
                                        {"resume", "ghost"},
                                        {"exec", "ghost", "true"},
                                        {"ps", "ghost"},
                                        {"events", "--stats", "ghost"}}) {
    auto r = droplet(args);
    EXPECT_EQ(r.code, 1) << args[0];
    EXPECT_NE(r.err.find("container \"ghost\" does not exist"), std::string::npos)
        << args[0] << ": " << r.err;
  }
}

TEST_F(BadInput, StartTwice) {
  write_config({"sleep", "100"});
  ASSERT_EQ(droplet({"create", "-b", bundle_.string(), "st"}).code, 0);
  ASSERT_EQ(droplet({"start", "st"}).code, 0);
  auto r = droplet({"start", "st"});
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("already running"), std::string::npos) << r.err;
  EXPECT_EQ(droplet({"delete", "-f", "st"}).code, 0);
  expect_no_leftovers("st");
}

TEST_F(BadInput, CommandNotFound) {
  write_config({"/no/such/binary"});
  expect_create_fails("nf", "/no/such/binary");
}

TEST_F(BadInput, MountDestinationThroughSymlinkLoop) {
  fs::create_symlink("loop", bundle_ / "rootfs/loop");
  auto c = default_config({"true"});
  c["mounts"].push_back({{"destination", "/loop/x"}, {"type", "tmpfs"}, {"source", "tmpfs"}});
  write_config({"true"}, c);
  expect_create_fails("sl", "/loop/x");
}

TEST_F(BadInput, MissingBindSource) {
  auto c = default_config({"true"});
  c["mounts"].push_back(
      {{"destination", "/x"}, {"type", "bind"}, {"source", "/no/such/dir"}, {"options", {"bind"}}});
  write_config({"true"}, c);
  expect_create_fails("ms", "/no/such/dir");
}

TEST_F(BadInput, HostnameWithoutUtsNamespace) {
  auto c = default_config({"true"});
  auto& ns = c["linux"]["namespaces"];
  for (std::size_t i = 0; i < ns.size(); ++i)
    if (ns[i]["type"] == "uts") ns.erase(i);
  write_config({"true"}, c);
  expect_create_fails("hn", "uts");
}

// A sysctl outside the container's namespaces would change the host: refused before anything
// is created, and the host value is untouched.
TEST_F(BadInput, HostSysctlsAreRefused) {
  auto before = read_text("/proc/sys/kernel/panic");
  auto c = default_config({"true"});
  c["linux"]["sysctl"] = {{"kernel.panic", "7"}};
  write_config({"true"}, c);
  expect_create_fails("sy1", "not namespaced");
  EXPECT_EQ(read_text("/proc/sys/kernel/panic"), before);

  c["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
  auto& ns = c["linux"]["namespaces"];
  for (std::size_t i = 0; i < ns.size(); ++i)
    if (ns[i]["type"] == "network") ns.erase(i);
  write_config({"true"}, c);
  expect_create_fails("sy2", "private network namespace");

  c = default_config({"true"});
  c["linux"]["sysctl"] = {{"net.ipv4/../../kernel.panic", "1"}};
  write_config({"true"}, c);
  expect_create_fails("sy3", "invalid key");
}

}  // namespace
}  // namespace droplet_test

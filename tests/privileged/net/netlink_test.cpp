// Real veth/bridge plumbing through libnl. The whole test binary first moves into a private
// network namespace of its own, so nothing touches the host's interfaces; "containers" are
// forked children that unshare their own network namespace.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "raind/droplet/netlink.hpp"
#include "raind/sys/process.hpp"
#include "raind/unique_fd.hpp"

namespace raind::droplet::net {
namespace {

// A child parked in a fresh network namespace until destroyed.
class NetnsChild {
 public:
  NetnsChild() {
    int ready[2];
    if (pipe(ready) != 0) return;
    if (pipe(release_) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      close(ready[0]);
      close(release_[1]);
      if (unshare(CLONE_NEWNET) != 0) _exit(1);
      char c = 1;
      if (write(ready[1], &c, 1) != 1) _exit(1);
      (void)!read(release_[0], &c, 1);  // parent closes the pipe to release us
      _exit(0);
    }
    close(ready[1]);
    close(release_[0]);
    char c = 0;
    if (read(ready[0], &c, 1) == 1) fd_.reset(open(fmt_path().c_str(), O_RDONLY | O_CLOEXEC));
    close(ready[0]);
  }
  ~NetnsChild() {
    if (pid_ > 0) {
      close(release_[1]);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  int fd() const { return fd_.get(); }
  std::string ns_path() const { return fmt_path(); }

  // Runs argv inside the child's network namespace.
  sys::RunResult run(std::vector<std::string> argv) const {
    std::vector<std::string> full = {"nsenter", "--net=" + ns_path(), "--"};
    full.insert(full.end(), argv.begin(), argv.end());
    auto result = sys::run(full);
    if (!result) return sys::RunResult{{127, 0}, "", result.error().what()};
    return *result;
  }

 private:
  std::string fmt_path() const { return "/proc/" + std::to_string(pid_) + "/ns/net"; }
  pid_t pid_ = -1;
  int release_[2] = {-1, -1};
  UniqueFd fd_;
};

class NetlinkTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) return;
    // Private network namespace for the whole binary: bridges and veths never reach the host.
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) failed";
    auto lo = sys::run({"ip", "link", "set", "lo", "up"});
    ASSERT_TRUE(lo && lo->status.code == 0);
  }
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces, veth, bridge)";
    ASSERT_EQ(sh("ip link add rdtbr0 type bridge && ip addr add 10.166.0.254/24 dev rdtbr0 && "
                 "ip link set rdtbr0 up"),
              0);
  }
  void TearDown() override {
    if (geteuid() == 0) sh("ip link del rdtbr0 2>/dev/null; true");
  }
  static int sh(const std::string& cmd) {
    auto r = sys::run({"sh", "-c", cmd});
    return r ? r->status.shell_code() : -1;
  }
  static NetConfig config(const std::string& veth, const std::string& cidr) {
    auto cfg = parse_net_config(
        nlohmann::json{{"bridgeInterface", "rdtbr0"},
                       {"interface",
                        {{"name", veth},
                         {"mtu", 1400},
                         {"ipv4", {{"address", cidr}, {"gateway", "10.166.0.254"}}}}}}
            .dump());
    EXPECT_TRUE(cfg) << cfg.error().what();
    return *cfg;
  }
};

TEST_F(NetlinkTest, ContainerGetsAddressMtuMacRouteAndReachesGateway) {
  NetnsChild ctr;
  ASSERT_GE(ctr.fd(), 0);
  NetConfig cfg = config("rd_t1", "10.166.0.7/24");
  auto status = setup_container_network(cfg, ctr.fd());
  ASSERT_TRUE(status) << status.error().what();

  auto addr = ctr.run({"ip", "-j", "addr", "show", "eth0"});
  ASSERT_EQ(addr.status.code, 0) << addr.err;
  auto info = nlohmann::json::parse(addr.out).at(0);
  EXPECT_EQ(info["mtu"], 1400);
  EXPECT_EQ(info["address"], "02:52:0a:a6:00:07");
  EXPECT_EQ(info["addr_info"][0]["local"], "10.166.0.7");
  EXPECT_EQ(info["addr_info"][0]["prefixlen"], 24);
  EXPECT_NE(std::string(info["flags"].dump()).find("UP"), std::string::npos);

  auto route = ctr.run({"ip", "-j", "route", "show", "default"});
  ASSERT_EQ(route.status.code, 0) << route.err;
  EXPECT_EQ(nlohmann::json::parse(route.out).at(0)["gateway"], "10.166.0.254");

  auto lo = ctr.run({"ip", "-j", "link", "show", "lo"});
  EXPECT_NE(lo.out.find("\"UP\""), std::string::npos) << lo.out;

  // Host end: attached to the bridge and up.
  auto host = sys::run({"ip", "-j", "link", "show", "rd_t1"});
  ASSERT_TRUE(host && host->status.code == 0);
  EXPECT_EQ(nlohmann::json::parse(host->out).at(0)["master"], "rdtbr0");

  auto ping = ctr.run({"ping", "-c", "1", "-W", "2", "10.166.0.254"});
  EXPECT_EQ(ping.status.code, 0) << ping.out << ping.err;

  ASSERT_TRUE(remove_host_interface("rd_t1"));
  EXPECT_FALSE(interface_exists("rd_t1"));
  auto gone = ctr.run({"ip", "link", "show", "eth0"});
  EXPECT_NE(gone.status.code, 0) << "peer should vanish with the host end";
}

TEST_F(NetlinkTest, TwoContainersOnOneBridgeReachEachOther) {
  NetnsChild a, b;
  ASSERT_TRUE(setup_container_network(config("rd_ta", "10.166.0.2/24"), a.fd()));
  ASSERT_TRUE(setup_container_network(config("rd_tb", "10.166.0.3/24"), b.fd()));
  auto ping = a.run({"ping", "-c", "1", "-W", "2", "10.166.0.3"});
  EXPECT_EQ(ping.status.code, 0) << ping.out << ping.err;
  EXPECT_TRUE(remove_host_interface("rd_ta"));
  EXPECT_TRUE(remove_host_interface("rd_tb"));
}

TEST_F(NetlinkTest, ContainersGetNoIpv6SoLinkLocalCannotBypassTheIpv4Rules) {
  if (access("/proc/sys/net/ipv6", F_OK) != 0) GTEST_SKIP() << "kernel without IPv6";
  NetnsChild a, b;
  ASSERT_TRUE(setup_container_network(config("rd_t6a", "10.166.0.2/24"), a.fd()));
  ASSERT_TRUE(setup_container_network(config("rd_t6b", "10.166.0.3/24"), b.fd()));
  for (const NetnsChild* ctr : {&a, &b}) {
    auto flag = ctr->run({"cat", "/proc/sys/net/ipv6/conf/eth0/disable_ipv6"});
    EXPECT_EQ(flag.out, "1\n") << flag.err;
    auto v6 = ctr->run({"ip", "-6", "-o", "addr", "show", "dev", "eth0"});
    EXPECT_EQ(v6.status.code, 0) << v6.err;
    EXPECT_EQ(v6.out, "") << "eth0 must carry no IPv6 address";
  }
  // All-nodes multicast on eth0: with IPv6 on, the other container would answer.
  auto ping6 = a.run({"ping", "-6", "-c", "1", "-W", "1", "-I", "eth0", "ff02::1"});
  EXPECT_NE(ping6.status.code, 0) << ping6.out;
  // Loopback keeps ::1 (programs that try localhost over IPv6 first still work).
  auto lo6 = a.run({"ip", "-6", "-o", "addr", "show", "dev", "lo"});
  EXPECT_NE(lo6.out.find("::1"), std::string::npos) << lo6.out;
  // IPv4 is unaffected.
  auto ping = a.run({"ping", "-c", "1", "-W", "2", "10.166.0.3"});
  EXPECT_EQ(ping.status.code, 0) << ping.out << ping.err;
  EXPECT_TRUE(remove_host_interface("rd_t6a"));
  EXPECT_TRUE(remove_host_interface("rd_t6b"));
}

TEST_F(NetlinkTest, MissingBridgeFailsBeforeCreatingAnything) {
  NetnsChild ctr;
  NetConfig cfg = config("rd_t2", "10.166.0.9/24");
  cfg.bridge_interface = "nosuchbr";
  auto status = setup_container_network(cfg, ctr.fd());
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().what().find("bridge nosuchbr does not exist"), std::string::npos)
      << status.error().what();
  EXPECT_FALSE(interface_exists("rd_t2"));
}

TEST_F(NetlinkTest, DuplicateVethNameIsRefusedAndExistingOneUntouched) {
  NetnsChild a, b;
  ASSERT_TRUE(setup_container_network(config("rd_t3", "10.166.0.4/24"), a.fd()));
  auto second = setup_container_network(config("rd_t3", "10.166.0.5/24"), b.fd());
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().what().find("rd_t3 already exists"), std::string::npos);
  EXPECT_TRUE(interface_exists("rd_t3"));
  EXPECT_TRUE(remove_host_interface("rd_t3"));
}

TEST_F(NetlinkTest, FailureInsideRollsBackTheHostEnd) {
  NetnsChild ctr;
  // Occupy the default route slot inside so adding ours fails after the veth exists. (This
  // kernel has no dummy driver; a veth pair serves as the occupying interface.)
  ASSERT_EQ(ctr.run({"sh", "-c",
                     "ip link add occ0 type veth peer name occ1 && ip addr add 10.99.0.1/24 "
                     "dev occ0 && ip link set occ0 up && ip link set occ1 up && "
                     "ip route add default via 10.99.0.2"})
                .status.code,
            0);
  auto status = setup_container_network(config("rd_t4", "10.166.0.6/24"), ctr.fd());
  ASSERT_FALSE(status);
  EXPECT_NE(status.error().what().find("add default route"), std::string::npos)
      << status.error().what();
  EXPECT_FALSE(interface_exists("rd_t4"));
}

TEST_F(NetlinkTest, RemovingAMissingInterfaceIsNotAnError) {
  EXPECT_TRUE(remove_host_interface("rd_nothere"));
}

}  // namespace
}  // namespace raind::droplet::net

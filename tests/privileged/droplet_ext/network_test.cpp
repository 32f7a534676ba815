// io.raind.net.config: between create and start droplet gives the container an eth0 on a veth
// whose host end joins a bridge. Two containers on one bridge reach the gateway and each other;
// delete removes the host end. Runs only inside scripts/sandbox.sh's private network namespace.
#include "ext_fixture.hpp"

namespace droplet_test {
namespace {

class Network : public ExtTest {
 protected:
  void SetUp() override {
    ExtTest::SetUp();
    if (IsSkipped()) return;
    if (!in_sandbox()) GTEST_SKIP() << "network tests run only under scripts/sandbox.sh";
    make_bridge("br-t", "10.166.7.254/24");
  }

  // A sleeping container on br-t with the given address; ping needs CAP_NET_RAW (as in Docker's
  // default set) because the netns's ping_group_range starts disabled.
  void start_container(const std::string& id, const std::string& address) {
    json net = {{"bridgeInterface", "br-t"},
                {"interface",
                 {{"name", "rd_" + id},
                  {"ipv4", {{"address", address + "/24"}, {"gateway", "10.166.7.254"}}},
                  {"mtu", 1400}}}};
    auto c = annotated_config({}, "io.raind.net.config", net.dump());
    for (auto set : {"bounding", "effective", "permitted"})
      c["process"]["capabilities"][set].push_back("CAP_NET_RAW");
    write_config({"sleep", "1000"}, c);
    auto r = droplet({"create", "-b", bundle_.string(), id});
    ASSERT_EQ(r.code, 0) << r.err;
    r = droplet({"start", id});
    ASSERT_EQ(r.code, 0) << r.err;
  }

  Result in_container(const std::string& id, const std::string& script) {
    return droplet({"exec", id, "sh", "-c", script});
  }

  json host_link(const std::string& name) {
    auto r = run_cmd({"ip", "-j", "-d", "link", "show", "dev", name});
    auto j = json::parse(r.out, nullptr, false);
    return j.is_array() && !j.empty() ? j[0] : json();
  }
};

TEST_F(Network, Eth0HasAddressMtuMacAndRoute) {
  start_container("n1", "10.166.7.2");
  auto r = in_container("n1", "ip -4 addr show dev eth0");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("inet 10.166.7.2/24"), std::string::npos) << r.out;
  r = in_container("n1", "cat /sys/class/net/eth0/mtu /sys/class/net/eth0/address");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "1400\n02:52:0a:a6:07:02\n");
  r = in_container("n1", "ip route show default");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("default via 10.166.7.254 dev eth0"), std::string::npos) << r.out;
  // IFF_UP on both lo and eth0.
  r = in_container("n1", "cat /sys/class/net/lo/flags /sys/class/net/eth0/flags");
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream in(r.out);
  std::string lo_flags, eth0_flags;
  in >> lo_flags >> eth0_flags;
  EXPECT_EQ(std::stoul(lo_flags, nullptr, 16) & 0x1, 1u) << "lo is not up";
  EXPECT_EQ(std::stoul(eth0_flags, nullptr, 16) & 0x1, 1u) << "eth0 is not up";
}

TEST_F(Network, HostEndIsAttachedToBridge) {
  start_container("n1", "10.166.7.2");
  auto l = host_link("rd_n1");
  ASSERT_FALSE(l.is_null()) << "no host link rd_n1";
  EXPECT_EQ(l.value("master", ""), "br-t");
  EXPECT_EQ(l.value("operstate", ""), "UP");
  EXPECT_EQ(l.value("mtu", 0), 1400);
}

TEST_F(Network, PingsGatewayAndOtherContainer) {
  start_container("n1", "10.166.7.2");
  start_container("n2", "10.166.7.3");
  auto r = in_container("n1", "ping -c1 -W2 10.166.7.254");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  r = in_container("n1", "ping -c1 -W2 10.166.7.3");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  r = in_container("n2", "ping -c1 -W2 10.166.7.2");
  EXPECT_EQ(r.code, 0) << r.out << r.err;
}

TEST_F(Network, DeleteRemovesHostEnd) {
  start_container("n1", "10.166.7.2");
  start_container("n2", "10.166.7.3");
  ASSERT_EQ(raind_links().size(), 2u);
  EXPECT_EQ(droplet({"delete", "-f", "n1"}).code, 0);
  EXPECT_EQ(raind_links(), std::vector<std::string>{"rd_n2"});
  EXPECT_EQ(droplet({"kill", "n2", "KILL"}).code, 0);
  for (int i = 0; i < 100 && state_of("n2")["status"] != "stopped"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(droplet({"delete", "n2"}).code, 0);
  EXPECT_TRUE(raind_links().empty());
  expect_no_leftovers("n1");
  expect_no_leftovers("n2");
}

}  // namespace
}  // namespace droplet_test

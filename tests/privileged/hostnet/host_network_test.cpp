// Root-only tests of condenser/hostnet in scripts/sandbox.sh's private network namespace.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "condenser/hostnet/host_network.hpp"
#include "raind/scope_exit.hpp"
#include "raind/sys/process.hpp"

namespace hn = raind::condenser::hostnet;
namespace fs = std::filesystem;
using json = nlohmann::json;
using raind::Errc;

namespace {

constexpr const char* kBridge = "rdhntest0";
constexpr const char* kGateway = "10.166.0.254/24";

raind::sys::RunResult run_cmd(const std::vector<std::string>& argv) {
  raind::sys::RunOptions options;
  options.timeout = std::chrono::seconds(30);
  auto r = raind::sys::run(argv, options);
  if (!r) {
    ADD_FAILURE() << argv[0] << ": " << r.error().what();
    return {};
  }
  return *r;
}

// Runs and expects success.
std::string must(const std::vector<std::string>& argv) {
  auto r = run_cmd(argv);
  std::string joined;
  for (const auto& a : argv) joined += a + " ";
  EXPECT_EQ(r.status.shell_code(), 0) << joined << ": " << r.err;
  return r.out;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// `ip -j -d addr show dev <name>` as one JSON object (null when absent).
json link_info(const std::string& name) {
  auto r = run_cmd({"ip", "-j", "-d", "addr", "show", "dev", name});
  auto j = json::parse(r.out, nullptr, false);
  if (r.status.shell_code() != 0 || j.is_discarded() || !j.is_array() || j.empty()) return {};
  return j[0];
}

int count_lines(const std::string& text, const std::string& line) {
  int n = 0;
  std::istringstream in(text);
  std::string l;
  while (std::getline(in, l))
    if (l == line) ++n;
  return n;
}

// Starts argv in the background; killed and reaped with the returned object.
raind::sys::ChildProcess spawn(const std::vector<std::string>& argv) {
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::execvp(cargv[0], cargv.data());
    _exit(127);
  }
  EXPECT_GT(pid, 0) << "fork";
  return raind::sys::ChildProcess(pid);
}

// GET with retries (the listener may still be starting); the body, or "" after the deadline.
std::string http_get(std::vector<std::string> prefix, const std::string& url) {
  prefix.insert(prefix.end(), {"curl", "-s", "--max-time", "3", url});
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = run_cmd(prefix);
    if (r.status.shell_code() == 0) return r.out;
    last = r.err;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ADD_FAILURE() << url << ": no answer; curl said: " << last;
  return "";
}

class HostNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    // Never in the host's namespace: only scripts/sandbox.sh sets these.
    if (!std::getenv("RAIND_TEST_ROOT") || !std::getenv("RAIND_OUTSIDE_NETNS"))
      GTEST_SKIP() << "needs scripts/sandbox.sh (own netns with an outside netns)";
    root_ = fs::path(std::getenv("RAIND_TEST_ROOT")) / "hostnet";
    fs::create_directories(root_);
  }
  void TearDown() override {
    if (root_.empty()) return;
    (void)hn::remove_nat();
    (void)hn::remove_bridge(kBridge);
  }

  fs::path root_;
};

TEST_F(HostNetTest, EnsureBridgeIsIdempotent) {
  for (int i = 0; i < 2; ++i) {
    auto s = hn::ensure_bridge(kBridge, kGateway);
    ASSERT_TRUE(s) << s.error().what();
  }
  EXPECT_TRUE(hn::link_exists(kBridge));
  json info = link_info(kBridge);
  ASSERT_FALSE(info.is_null());
  EXPECT_EQ(info["linkinfo"]["info_kind"], "bridge");
  EXPECT_EQ(info["linkinfo"]["info_data"]["nf_call_iptables"], 1) << info.dump();
  EXPECT_NE(info["flags"].dump().find("\"UP\""), std::string::npos) << info.dump();
  int matching = 0;
  for (const auto& a : info["addr_info"])
    if (a["family"] == "inet" && a["local"] == "10.166.0.254" && a["prefixlen"] == 24) ++matching;
  EXPECT_EQ(matching, 1) << info.dump();

  // MTU applied to an existing bridge.
  ASSERT_TRUE(hn::ensure_bridge(kBridge, kGateway, 1400));
  EXPECT_EQ(link_info(kBridge)["mtu"], 1400);

  ASSERT_TRUE(hn::remove_bridge(kBridge));
  EXPECT_FALSE(hn::link_exists(kBridge));
  EXPECT_TRUE(hn::remove_bridge(kBridge)) << "missing is not an error";
}

TEST_F(HostNetTest, EnsureBridgeRefusesOtherLinksAndBadInput) {
  must({"ip", "link", "add", "rdhnfake0", "type", "veth", "peer", "name", "rdhnfake1"});
  raind::ScopeExit cleanup([] { (void)hn::remove_link("rdhnfake0"); });
  auto s = hn::ensure_bridge("rdhnfake0", kGateway);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), Errc::conflict) << s.error().what();
  auto r = hn::remove_bridge("rdhnfake0");
  ASSERT_FALSE(r);
  EXPECT_TRUE(hn::link_exists("rdhnfake0")) << "remove_bridge must not delete a non-bridge";

  EXPECT_FALSE(hn::ensure_bridge(kBridge, "not-an-address"));
  EXPECT_FALSE(hn::ensure_bridge("a-name-far-too-long-for-linux", kGateway));
  EXPECT_FALSE(hn::link_exists(kBridge));
}

TEST_F(HostNetTest, LinkHelpersAndHairpin) {
  ASSERT_TRUE(hn::ensure_bridge(kBridge, kGateway));
  must({"ip", "link", "add", "rd_hntest00001", "type", "veth", "peer", "name", "rdpeer0"});
  raind::ScopeExit cleanup([] { (void)hn::remove_link("rd_hntest00001"); });
  auto listed = hn::list_links_with_prefix("rd_");
  EXPECT_NE(std::find(listed.begin(), listed.end(), "rd_hntest00001"), listed.end());
  EXPECT_EQ(std::find(listed.begin(), listed.end(), "rdpeer0"), listed.end());

  auto not_attached = hn::set_hairpin("rd_hntest00001");
  ASSERT_FALSE(not_attached);
  EXPECT_EQ(not_attached.error().code(), Errc::conflict);
  EXPECT_EQ(hn::set_hairpin("rd_missing0").error().code(), Errc::not_found);

  must({"ip", "link", "set", "rd_hntest00001", "master", kBridge});
  auto s = hn::set_hairpin("rd_hntest00001");
  ASSERT_TRUE(s) << s.error().what();
  json info = link_info("rd_hntest00001");
  EXPECT_EQ(info["linkinfo"]["info_slave_data"]["hairpin"], true) << info.dump();

  ASSERT_TRUE(hn::remove_link("rd_hntest00001"));
  EXPECT_FALSE(hn::link_exists("rd_hntest00001"));
  EXPECT_FALSE(hn::link_exists("rdpeer0")) << "deleting one end removes the pair";
  EXPECT_TRUE(hn::remove_link("rd_hntest00001")) << "missing is not an error";
}

TEST_F(HostNetTest, EnableForwarding) {
  auto s = hn::enable_forwarding();
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(read_text("/proc/sys/net/ipv4/ip_forward"), "1\n");
  EXPECT_EQ(read_text("/proc/sys/net/bridge/bridge-nf-call-iptables"), "1\n");
  EXPECT_TRUE(hn::enable_forwarding());
}

TEST_F(HostNetTest, RestoreFailureCarriesTheToolsStderr) {
  fs::path fake = root_ / "fake-restore";
  std::ofstream(fake) << "#!/bin/sh\ncat >/dev/null\necho 'line 3: bogus rule' >&2\nexit 2\n";
  fs::permissions(fake, fs::perms::owner_all);
  hn::IptablesBackend backend;
  backend.restore = fake.string();
  auto s = hn::apply_nat({}, backend);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().what().find("line 3: bogus rule"), std::string::npos) << s.error().what();

  hn::NatInput bad;
  bad.ports = {{"c1", "10.166.0.2", kBridge, "0.0.0.0", 8080, 80, "sctp"}};
  auto v = hn::apply_nat(bad);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code(), Errc::invalid_argument);
}

TEST_F(HostNetTest, PublishedPortCarriesTraffic) {
  const std::string ns = "rdhn-ctr";
  const std::string veth = "rd_hntest00002";
  const std::string outside = std::getenv("RAIND_OUTSIDE_NETNS");

  ASSERT_TRUE(hn::ensure_bridge(kBridge, kGateway));
  auto fw = hn::enable_forwarding();
  ASSERT_TRUE(fw) << fw.error().what();

  // A "container": its own netns, a veth into the bridge, a web server on port 80.
  must({"ip", "netns", "add", ns});
  raind::ScopeExit drop_ns([&] {
    run_cmd({"ip", "netns", "del", ns});
    (void)hn::remove_link(veth);
  });
  must({"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns});
  must({"ip", "link", "set", veth, "master", kBridge, "up"});
  ASSERT_TRUE(hn::set_hairpin(veth));
  must({"ip", "-n", ns, "link", "set", "lo", "up"});
  must({"ip", "-n", ns, "addr", "add", "10.166.0.2/24", "dev", "eth0"});
  must({"ip", "-n", ns, "link", "set", "eth0", "up"});
  must({"ip", "-n", ns, "route", "add", "default", "via", "10.166.0.254"});
  fs::path www = root_ / "www";
  fs::create_directories(www);
  std::ofstream(www / "index.html") << "hello from ctr\n";
  auto httpd =
      spawn({"ip", "netns", "exec", ns, "busybox", "httpd", "-f", "-p", "80", "-h", www.string()});

  hn::NatInput input;
  input.bridges = {kBridge};
  input.ports = {{"hntest000002", "10.166.0.2", kBridge, "0.0.0.0", 8080, 80, "tcp"}};
  for (int i = 0; i < 2; ++i) {
    auto s = hn::apply_nat(input);
    ASSERT_TRUE(s) << s.error().what();
  }
  std::string saved = must({"iptables-save", "-t", "nat"});
  EXPECT_EQ(count_lines(saved, "-A PREROUTING -m addrtype --dst-type LOCAL -j RAIND-PUBLISH"), 1)
      << saved;
  EXPECT_EQ(count_lines(saved,
                        "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j "
                        "RAIND-PUBLISH"),
            1)
      << saved;
  EXPECT_EQ(count_lines(saved, "-A POSTROUTING -j RAIND-POSTROUTING"), 1) << saved;
  EXPECT_EQ(count_lines(saved,
                        "-A RAIND-PUBLISH -p tcp -m tcp --dport 8080 -m comment --comment "
                        "\"raind:hntest000002\" -j DNAT --to-destination 10.166.0.2:80"),
            1)
      << saved;
  EXPECT_EQ(count_lines(saved,
                        "-A RAIND-POSTROUTING -s 10.166.0.0/16 ! -d 10.166.0.0/16 -j "
                        "MASQUERADE"),
            1)
      << saved;

  // Directly first, so a failure below points at the nat rules rather than the setup.
  EXPECT_EQ(http_get({}, "http://10.166.0.2/"), "hello from ctr\n");
  // North-south: the outside netns through the published port (PREROUTING DNAT).
  EXPECT_EQ(http_get({"ip", "netns", "exec", outside}, "http://198.51.100.1:8080/"),
            "hello from ctr\n");
  // The host itself (OUTPUT DNAT).
  EXPECT_EQ(http_get({}, "http://198.51.100.1:8080/"), "hello from ctr\n");
  // The container through its own published port (hairpin).
  EXPECT_EQ(http_get({"ip", "netns", "exec", ns}, "http://198.51.100.1:8080/"), "hello from ctr\n");
  // Outbound from the container, masqueraded.
  EXPECT_EQ(http_get({"ip", "netns", "exec", ns}, "http://198.51.100.2/"),
            "hello from the outside\n");

  // An updated port set replaces the old one.
  input.ports[0].host_port = 9090;
  ASSERT_TRUE(hn::apply_nat(input));
  saved = must({"iptables-save", "-t", "nat"});
  EXPECT_EQ(saved.find("--dport 8080"), std::string::npos) << saved;
  EXPECT_NE(saved.find("--dport 9090"), std::string::npos) << saved;

  auto removed = hn::remove_nat();
  ASSERT_TRUE(removed) << removed.error().what();
  saved = must({"iptables-save", "-t", "nat"});
  EXPECT_EQ(saved.find("RAIND"), std::string::npos) << saved;
  EXPECT_TRUE(hn::remove_nat()) << "removing twice is fine";
}

}  // namespace

namespace {

// The other xtables backend through IptablesBackend. Last in this file: once legacy tables exist
// in the netns, nft's iptables-save prints a warning about them.
TEST_F(HostNetTest, LegacyBackendApplyAndRemove) {
  if (run_cmd({"sh", "-c", "command -v iptables-legacy-restore"}).status.shell_code() != 0)
    GTEST_SKIP() << "iptables-legacy is not installed";
  hn::IptablesBackend legacy{"iptables-legacy-restore", "iptables-legacy-save", "iptables-legacy"};
  hn::NatInput input;
  input.ports = {{"hntest000003", "10.166.0.3", kBridge, "198.51.100.1", 8443, 443, "tcp"}};
  for (int i = 0; i < 2; ++i) {
    auto s = hn::apply_nat(input, legacy);
    ASSERT_TRUE(s) << s.error().what();
  }
  std::string saved = must({"iptables-legacy-save", "-t", "nat"});
  EXPECT_EQ(count_lines(saved, "-A POSTROUTING -j RAIND-POSTROUTING"), 1) << saved;
  EXPECT_EQ(count_lines(saved, "-A PREROUTING -m addrtype --dst-type LOCAL -j RAIND-PUBLISH"), 1)
      << saved;
  EXPECT_NE(saved.find("-A RAIND-PUBLISH -d 198.51.100.1/32 -p tcp -m tcp --dport 8443"),
            std::string::npos)
      << saved;
  auto removed = hn::remove_nat(legacy);
  ASSERT_TRUE(removed) << removed.error().what();
  EXPECT_EQ(must({"iptables-legacy-save", "-t", "nat"}).find("RAIND"), std::string::npos);
}

// The policy engine's filter rules: applied atomically, verified, and on a refused payload the
// previous rules stay in force; both backends; the probe picks the backend in use.
hn::FilterRules filter_rules(const std::string& body) {
  hn::FilterRules r;
  r.chains = {"RAINDT-ROOT", "RAINDT-EW"};
  r.jumps = {{"FORWARD", "RAINDT-ROOT"}};
  r.payload =
      "*filter\n:RAINDT-ROOT - [0:0]\n:RAINDT-EW - [0:0]\n"
      "-A RAINDT-ROOT -i " +
      std::string(kBridge) + " -j RAINDT-EW\n" + body + "COMMIT\n";
  return r;
}

TEST_F(HostNetTest, FilterRulesApplyVerifyAndSurviveARefusedPayload) {
  for (const auto& backend :
       {hn::nft_backend(), hn::IptablesBackend{"iptables-legacy-restore", "iptables-legacy-save",
                                               "iptables-legacy"}}) {
    if (run_cmd({"sh", "-c", "command -v " + backend.restore}).status.shell_code() != 0) continue;
    auto good = filter_rules(
        "-A RAINDT-EW -p tcp -m tcp --dport 8080 -m conntrack --ctstate NEW -j NFLOG "
        "--nflog-prefix \"RAIND-EW-ALLOW,id=t1\" --nflog-group 10\n"
        "-A RAINDT-EW -p tcp -m tcp --dport 8080 -j ACCEPT\n-A RAINDT-EW -j DROP\n");
    for (int i = 0; i < 2; ++i) {
      auto s = hn::apply_filter(good, backend);
      ASSERT_TRUE(s) << backend.restore << ": " << s.error().what();
    }
    std::string before = must({backend.save, "-t", "filter"});
    EXPECT_EQ(count_lines(before, "-A FORWARD -j RAINDT-ROOT"), 1) << before;
    for (const auto& chain : good.chains)  // save groups rules by chain; the payload need not
      EXPECT_EQ(hn::chain_rules(before, {chain}), hn::chain_rules(good.payload, {chain}));

    // A payload the kernel refuses halfway (an unknown match on its last rule): nothing of it
    // takes effect, the error names the tool's complaint.
    auto bad = filter_rules("-A RAINDT-EW -j ACCEPT\n-A RAINDT-EW -m nosuchmatch -j DROP\n");
    auto refused = hn::apply_filter(bad, backend);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().what().find("failed with status"), std::string::npos)
        << refused.error().what();
    EXPECT_EQ(hn::chain_rules(must({backend.save, "-t", "filter"}), good.chains),
              hn::chain_rules(before, good.chains))
        << "the previous rules must stay in force";

    ASSERT_TRUE(hn::remove_filter(good, backend));
    EXPECT_EQ(must({backend.save, "-t", "filter"}).find("RAINDT"), std::string::npos);
  }
}

TEST_F(HostNetTest, BackendProbePrefersTheBackendInUse) {
  auto chosen = hn::choose_iptables_backend("auto");
  ASSERT_TRUE(chosen) << chosen.error().what();
  EXPECT_EQ(chosen->iptables, "iptables-nft") << "a fresh namespace: nf_tables";
  EXPECT_EQ(hn::choose_iptables_backend("legacy")->iptables, "iptables-legacy");
  EXPECT_FALSE(hn::choose_iptables_backend("ebtables"));
  if (run_cmd({"sh", "-c", "command -v iptables-legacy"}).status.shell_code() != 0) return;
  must({"iptables-legacy", "-N", "RAINDT-PROBE"});
  must({"iptables-legacy", "-A", "RAINDT-PROBE", "-j", "RETURN"});
  auto probed = hn::choose_iptables_backend("auto");
  must({"iptables-legacy", "-F", "RAINDT-PROBE"});
  must({"iptables-legacy", "-X", "RAINDT-PROBE"});
  ASSERT_TRUE(probed);
  EXPECT_EQ(probed->iptables, "iptables-legacy") << "legacy rules present, nft empty";
}

}  // namespace

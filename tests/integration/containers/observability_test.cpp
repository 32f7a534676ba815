// Observability end to end (issue 9), in the sandbox with the real kernel, iptables, ulogd2 and
// the "outside" namespace's dnsmasq: flow records that name both containers and the policy,
// DNS queries answered and logged by condenserd's proxy, cgroup metrics, and `raind logs`
// reading it all back (filters, follow). Every record is checked against docs/schemas/.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include <fstream>

#include "fixture.hpp"

using namespace raind::testing;
using namespace raind::testing::containers;
namespace fs = std::filesystem;

namespace {

class Observability : public Containers {
 protected:
  std::string extra_config() const override { return "metrics:\n  interval_s: 1\n"; }

  std::vector<nlohmann::json> records(const std::string& kind,
                                      std::vector<std::string> filters = {}) {
    std::vector<std::string> args = {"logs", kind, "--json", "-n", "1000"};
    args.insert(args.end(), filters.begin(), filters.end());
    auto r = raind(args);
    EXPECT_EQ(r.code, 0) << r.err;
    std::vector<nlohmann::json> out;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);)
      if (auto j = nlohmann::json::parse(line, nullptr, false); j.is_object())
        out.push_back(std::move(j));
    return out;
  }

  // Waits for a record of `kind` for which `wanted` holds.
  std::optional<nlohmann::json> wait_record(
      const std::string& kind, const std::function<bool(const nlohmann::json&)>& wanted,
      std::chrono::seconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      for (const auto& r : records(kind))
        if (wanted(r)) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return std::nullopt;
  }

  fs::path log_file(const std::string& kind) const {
    return dir_->path() / "log" / ("raind_" + kind + ".jsonl");
  }

  // Every line of the log is valid against docs/schemas/<kind>.schema.json.
  void expect_schema_valid(const std::string& kind) {
    auto r = run({"python3", std::string(RAIND_SOURCE_DIR) + "/tests/fixtures/validate-jsonl.py",
                  std::string(RAIND_SOURCE_DIR) + "/docs/schemas/" + kind + ".schema.json",
                  log_file(kind).string()});
    EXPECT_EQ(r.code, 0) << kind << ": " << r.out << r.err;
  }

  bool exec_ok(const std::string& container, std::vector<std::string> command) {
    command.insert(command.begin(), {"container", "exec", container});
    return raind(command).code == 0;
  }
};

std::string str(const nlohmann::json& j, const std::string& pointer) {
  auto p = nlohmann::json::json_pointer(pointer);
  return j.contains(p) && j.at(p).is_string() ? j.at(p).get<std::string>() : std::string();
}

}  // namespace

TEST_F(Observability, FlowRecordsNameBothContainersAndThePolicy) {
  auto web = [&](const std::string& name) {
    return run_detached(
        {"--name", name, "busybox:latest", "sh", "-c", "httpd -p 8080 -h /etc; exec sleep 1000"});
  };
  const std::string a = web("alpha"), b = web("bravo");
  const auto alpha = inspect(a), bravo = inspect(b);
  const std::string ip_b = bravo.value("ip", "");
  const char* outside = std::getenv("RAIND_OUTSIDE_IP");

  // Denied by default: a ping between the two.
  EXPECT_FALSE(exec_ok("alpha", {"ping", "-c", "1", "-W", "1", ip_b}));
  auto deny = wait_record("netflow", [&](const nlohmann::json& r) {
    return r.value("verdict", "") == "deny" && str(r, "/src/container_name") == "alpha" &&
           r.value("proto", "") == "ICMP";
  });
  ASSERT_TRUE(deny) << daemon_->output();
  EXPECT_EQ(deny->value("kind", ""), "east-west") << deny->dump();
  EXPECT_EQ(str(*deny, "/policy/source"), "predefined") << deny->dump();
  EXPECT_EQ(str(*deny, "/src/container_id"), a);
  EXPECT_EQ(str(*deny, "/src/veth"), alpha.value("veth", ""));
  EXPECT_EQ(str(*deny, "/dst/container_name"), "bravo");
  EXPECT_EQ(str(*deny, "/dst/container_id"), b);
  EXPECT_EQ(str(*deny, "/dst/veth"), bravo.value("veth", ""));
  EXPECT_EQ(str(*deny, "/src/spiffe_id"), alpha.value("spiffe_id", "")) << deny->dump();
  EXPECT_EQ((*deny)["icmp"].value("type", -1), 8) << deny->dump();

  // Allowed by a policy: the record carries its id.
  auto added = raind({"policy", "add", "--type", "ew", "-s", "alpha", "-d", "bravo", "-p", "tcp",
                      "--dport", "8080"});
  ASSERT_EQ(added.code, 0) << added.err;
  auto ls = raind({"policy", "ls", "--json"});
  std::string policy_id;
  for (const auto& p :
       nlohmann::json::parse(ls.out, nullptr, false).value("policies", nlohmann::json::array()))
    policy_id = p.value("id", policy_id);
  ASSERT_FALSE(policy_id.empty()) << ls.out;
  ASSERT_EQ(raind({"policy", "commit", "-y"}).code, 0);
  EXPECT_TRUE(exec_ok("alpha", {"timeout", "3", "wget", "-q", "-O", "/dev/null",
                                "http://" + ip_b + ":8080/hostname"}));
  auto allow = wait_record("netflow", [&](const nlohmann::json& r) {
    return r.value("verdict", "") == "allow" && r.value("kind", "") == "east-west";
  });
  ASSERT_TRUE(allow);
  EXPECT_EQ(str(*allow, "/policy/source"), "user") << allow->dump();
  EXPECT_EQ(str(*allow, "/policy/id"), policy_id) << allow->dump();
  EXPECT_EQ(allow->value("proto", ""), "TCP");
  EXPECT_EQ((*allow)["dst"].value("port", 0), 8080);
  EXPECT_EQ(str(*allow, "/dst/container_name"), "bravo");

  if (outside) {
    // Outbound in observe mode: allowed and logged as north-south.
    EXPECT_TRUE(exec_ok("alpha", {"timeout", "3", "wget", "-q", "-O", "/dev/null",
                                  std::string("http://") + outside + "/"}));
    auto ns = wait_record("netflow", [&](const nlohmann::json& r) {
      return r.value("kind", "") == "north-south" && str(r, "/dst/ip") == outside;
    });
    ASSERT_TRUE(ns);
    EXPECT_EQ(ns->value("verdict", ""), "allow") << ns->dump();
    EXPECT_EQ(str(*ns, "/dst/kind"), "external");
    EXPECT_EQ(str(*ns, "/src/container_name"), "alpha");

    // A north-south deny policy: its hits carry its id.
    ASSERT_EQ(raind({"policy", "add", "--type", "ns-obs", "-s", "bravo", "-d", outside, "-p", "tcp",
                     "--dport", "80"})
                  .code,
              0);
    ASSERT_EQ(raind({"policy", "commit", "-y"}).code, 0);
    EXPECT_FALSE(exec_ok("bravo", {"timeout", "3", "wget", "-q", "-O", "/dev/null",
                                   std::string("http://") + outside + "/"}));
    auto ns_deny = wait_record("netflow", [&](const nlohmann::json& r) {
      return r.value("kind", "") == "north-south" && r.value("verdict", "") == "deny";
    });
    ASSERT_TRUE(ns_deny);
    EXPECT_EQ(str(*ns_deny, "/policy/source"), "user") << ns_deny->dump();
    EXPECT_FALSE(str(*ns_deny, "/policy/id").empty());
    EXPECT_NE(str(*ns_deny, "/policy/id"), policy_id);
    EXPECT_EQ(str(*ns_deny, "/src/container_name"), "bravo");
  }

  // Read back: filters and the human layout.
  for (const auto& r : records("netflow", {"--verdict", "deny"}))
    EXPECT_EQ(r.value("verdict", ""), "deny") << r.dump();
  for (const auto& r : records("netflow", {"--container", "bravo"}))
    EXPECT_TRUE(str(r, "/src/container_name") == "bravo" ||
                str(r, "/dst/container_name") == "bravo")
        << r.dump();
  auto human = raind({"logs", "netflow", "-n", "1000"});
  EXPECT_NE(human.out.find("\tDENY\tFROM: alpha => TO: bravo {ICMP type=8 code=0}"),
            std::string::npos)
      << human.out;
  EXPECT_NE(human.out.find("\tALLOW\tFROM: alpha => TO: bravo {TCP/8080} policy=" + policy_id),
            std::string::npos)
      << human.out;
  expect_schema_valid("netflow");
}

TEST_F(Observability, ContainersResolveThroughTheLoggedCachingProxy) {
  const std::string a = run_detached({"--name", "alpha", "busybox:latest", "sleep", "1000"});
  const auto alpha = inspect(a);
  // resolv.conf names the gateway; the query is redirected to the proxy, which asks the
  // outside's dnsmasq (runtime.nameservers of the fixture).
  auto resolv = raind({"container", "exec", "alpha", "cat", "/etc/resolv.conf"});
  EXPECT_NE(resolv.out.find("nameserver 10.166.0.254"), std::string::npos) << resolv.out;

  // A follower started first sees the records as they are written.
  fs::path followed = dir_->path() / "followed.jsonl";
  pid_t follower = ::fork();
  if (follower == 0) {
    int fd = ::open(followed.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    auto argv = raind_argv({"logs", "dns", "--follow", "--json", "-n", "0"});
    std::vector<char*> args;
    for (auto& s : argv) args.push_back(s.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));

  auto query = [&](const std::string& server, const std::string& name,
                   const std::string& transport) {
    auto r = raind({"container", "exec", "alpha", "raind-probe", "dns", server, name, transport});
    return r.out;
  };
  auto first = query("10.166.0.254", "svc1.raind.test", "udp");
  EXPECT_NE(first.find("rcode=0"), std::string::npos) << first << daemon_->output();
  EXPECT_NE(first.find("address=10.77.0.2"), std::string::npos) << first;
  EXPECT_NE(first.find("id_ok=1"), std::string::npos) << first;
  auto second = query("10.166.0.254", "svc1.raind.test", "udp");
  EXPECT_NE(second.find("address=10.77.0.2"), std::string::npos) << second;
  // A resolver the image picked itself is intercepted too; over TCP as well.
  auto direct = query("198.51.100.2", "svc2.raind.test", "tcp");
  EXPECT_NE(direct.find("address=10.77.0.3"), std::string::npos) << direct;
  auto missing = query("10.166.0.254", "nosuch.raind.test", "udp");
  EXPECT_NE(missing.find("rcode=3"), std::string::npos) << missing;

  auto logged = [&](const std::string& name, bool hit) {
    return wait_record("dns", [&](const nlohmann::json& r) {
      return str(r, "/dns/question/name") == name && r["cache"].value("hit", !hit) == hit;
    });
  };
  auto miss = logged("svc1.raind.test.", false);
  ASSERT_TRUE(miss) << daemon_->output();
  EXPECT_EQ(str(*miss, "/src/container_name"), "alpha") << miss->dump();
  EXPECT_EQ(str(*miss, "/src/container_id"), a);
  EXPECT_EQ(str(*miss, "/src/veth"), alpha.value("veth", ""));
  EXPECT_EQ(str(*miss, "/src/ip"), alpha.value("ip", ""));
  EXPECT_EQ(str(*miss, "/dns/question/type"), "A");
  EXPECT_EQ(str(*miss, "/dns/response/rcode"), "NOERROR");
  EXPECT_EQ(str(*miss, "/upstream/server"), "198.51.100.2:53") << miss->dump();
  EXPECT_TRUE((*miss)["latency_ms"].is_number());
  EXPECT_EQ(miss->value("query_result", ""), "ok");
  auto hit = logged("svc1.raind.test.", true);
  ASSERT_TRUE(hit);
  EXPECT_EQ(str(*hit, "/upstream/server"), "cache") << hit->dump();
  auto tcp = logged("svc2.raind.test.", false);
  ASSERT_TRUE(tcp);
  EXPECT_EQ(str(*tcp, "/network/transport"), "tcp") << tcp->dump();
  auto nx = logged("nosuch.raind.test.", false);
  ASSERT_TRUE(nx);
  EXPECT_EQ(str(*nx, "/dns/response/rcode"), "NXDOMAIN") << nx->dump();

  // The follower got the same records, as they came.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  std::string streamed;
  while (std::chrono::steady_clock::now() < deadline) {
    streamed = raind::sys::read_file(followed).value_or("");
    if (streamed.find("nosuch.raind.test.") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(follower, SIGTERM);
  ::waitpid(follower, nullptr, 0);
  EXPECT_NE(streamed.find("svc1.raind.test."), std::string::npos) << streamed;
  EXPECT_NE(streamed.find("nosuch.raind.test."), std::string::npos) << streamed;

  auto table = raind({"logs", "dns"});
  EXPECT_NE(table.out.find("svc2.raind.test."), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("NXDOMAIN"), std::string::npos) << table.out;
  expect_schema_valid("dns");
}

TEST_F(Observability, MetricsFollowTheCgroupFiguresAndCountOoms) {
  const std::string busy = run_detached(
      {"--name", "busy", "--cpus", "0.5", "busybox:latest", "sh", "-c", "while :; do :; done"});
  // The child is OOM-killed, the shell lives on.
  const std::string hog = run_detached({"--name", "hog", "--memory", "16m", "busybox:latest", "sh",
                                        "-c", "raind-probe alloc 64; exec sleep 1000"});
  auto busy_sample = wait_record(
      "metrics",
      [&](const nlohmann::json& r) {
        return r.value("container_name", "") == "busy" && r.value("cpu_percent", 0.0) > 0.0;
      },
      std::chrono::seconds(15));
  ASSERT_TRUE(busy_sample) << daemon_->output();
  // Half a CPU allowed and all of it used: ~100 % of the allowance, throttled.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  double best = 0;
  for (const auto& r : records("metrics", {"--container", "busy"})) {
    best = std::max(best, r.value("cpu_percent", 0.0));
    EXPECT_EQ(r.value("cpu_quota_usec", 0), 50000) << r.dump();
    EXPECT_EQ(r.value("cpu_unlimited", true), false);
  }
  EXPECT_GT(best, 70.0);
  EXPECT_LT(best, 130.0);
  auto last = records("metrics", {"--container", "busy"}).back();
  EXPECT_GT(last.value("cpu_nr_throttled", 0), 0) << last.dump();
  EXPECT_EQ(last.value("container_id", ""), busy);
  EXPECT_FALSE(last.value("cgroup_path", "").empty());

  auto oom = wait_record("metrics", [&](const nlohmann::json& r) {
    return r.value("container_name", "") == "hog" && r.value("memory_oom_kill", 0) > 0;
  });
  ASSERT_TRUE(oom) << daemon_->output();
  EXPECT_EQ(oom->value("memory_max_bytes", 0), 16 << 20) << oom->dump();
  EXPECT_EQ(oom->value("memory_limited", false), true);
  EXPECT_GT(oom->value("memory_percent", 0.0), 0.0);

  auto stats = raind({"container", "stats", "--no-stream"});
  ASSERT_EQ(stats.code, 0) << stats.err;
  EXPECT_NE(stats.out.find("CPU %"), std::string::npos) << stats.out;
  EXPECT_NE(stats.out.find("busy"), std::string::npos) << stats.out;
  EXPECT_NE(stats.out.find("16.0MiB"), std::string::npos) << stats.out;
  auto table = raind({"logs", "metrics", "--container", "hog"});
  EXPECT_NE(table.out.find("hog"), std::string::npos) << table.out;
  EXPECT_EQ(table.out.find("busy"), std::string::npos) << table.out;
  expect_schema_valid("metrics");

  // The audit trail reads back the same way.
  auto audit = records("audit", {"--container", "busy"});
  ASSERT_FALSE(audit.empty());
  bool created = false;
  for (const auto& r : audit) created |= r.value("action", "") == "container.create";
  EXPECT_TRUE(created);
  auto bad = raind({"logs", "netflow", "--since", "yesterday-ish"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("since"), std::string::npos) << bad.err;
}

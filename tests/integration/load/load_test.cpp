// Load (issue "Prove it"), in the sandbox with the real binaries: 200 containers created,
// started, stopped and removed by 8 concurrent clients, then 10 000 API requests over mTLS from
// 8 clients. Asserted: every answer is the expected one, the audit log holds every request, and
// nothing is left (store, IPAM, veths, cgroups, mounts, run dir, condenserd's fds). Timings are
// printed, never asserted (speed belongs in tests/bench/).
#include <barrier>
#include <cstdlib>
#include <fstream>
#include <mutex>

#include "../containers/fixture.hpp"
#include "load_support.hpp"

using namespace raind::testing;
using namespace raind::testing::containers;
using namespace raind::testing::load;

namespace {

constexpr int kClients = 8;

// Containers each client takes through the lifecycle: 25, 200 in all. The sanitizer pass sets
// fewer through RAIND_LOAD_PER_CLIENT (its CTest environment): its uninlined, instrumented
// daemon and hooks would spend most of the CI budget on 200, and what that pass looks for,
// memory errors on these paths under concurrency, shows as well with fewer.
int containers_per_client() {
  const char* set = std::getenv("RAIND_LOAD_PER_CLIENT");
  const int n = set ? std::atoi(set) : 0;
  return n > 0 ? n : 25;
}

// Failures seen by the client threads, kept for the report (the first few) and counted.
class Failures {
 public:
  void add(std::string what) {
    std::lock_guard lock(mutex_);
    ++count_;
    if (kept_.size() < 20) kept_.push_back(std::move(what));
  }
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return count_;
  }
  std::string report() const {
    std::lock_guard lock(mutex_);
    return ::testing::PrintToString(kept_);
  }

 private:
  mutable std::mutex mutex_;
  std::size_t count_ = 0;
  std::vector<std::string> kept_;
};

void print_latency(const std::string& label, const Latency& l) {
  std::printf("[ load ] %-22s n=%-6zu p50 %8.2f ms  p99 %8.2f ms  max %8.2f ms\n", label.c_str(),
              l.count, l.p50, l.p99, l.max);
}

class Load : public Containers {
 protected:
  // The store's view: container states by count.
  std::map<std::string, int> states(ApiClient& api) {
    std::map<std::string, int> out;
    auto listed = api.request("GET", "/v1/containers?all=1");
    EXPECT_EQ(listed.status, 200u) << describe("GET /v1/containers?all=1", listed);
    for (const auto& c : listed.data()) ++out[c.value("state", "?")];
    return out;
  }

  void TearDown() override {
    // RAIND_LOAD_KEEP_LOG=path keeps condenserd's log of a run (the temp dir goes).
    if (const char* keep = std::getenv("RAIND_LOAD_KEEP_LOG"); keep && *keep && dir_) {
      std::error_code ec;
      fs::copy_file(
          dir_->path() / "condenserd.out",
          std::string(keep) + "." + ::testing::UnitTest::GetInstance()->current_test_info()->name(),
          fs::copy_options::overwrite_existing, ec);
    }
    Containers::TearDown();
  }

  // No container, no certificate of one, no address still held (IPAM hands out the lowest free
  // address: a fresh container gets the pool's first one again), and nothing on the host.
  void expect_nothing_left(ApiClient& api, const std::set<std::string>& run_dir_before,
                           long certificates_before) {
    EXPECT_TRUE(states(api).empty()) << ::testing::PrintToString(states(api));
    EXPECT_EQ(certificate_count(api), certificates_before);
    const nlohmann::json probe{{"image", "busybox:latest"},
                               {"name", "ipam-probe"},
                               {"command", nlohmann::json::array({"true"})}};
    auto created = api.request("POST", "/v1/containers", probe.dump());
    EXPECT_EQ(created.status, 201u) << describe("create ipam-probe", created);
    EXPECT_EQ(created.data().value("ip", ""), "10.166.0.1");
    auto removed = api.request("DELETE", "/v1/containers/ipam-probe");
    EXPECT_EQ(removed.status, 200u) << describe("rm ipam-probe", removed);
    EXPECT_EQ(certificate_count(api), certificates_before);
    expect_host_clean();
    EXPECT_EQ(tree(dir_->path() / "run"), run_dir_before);
  }
};

}  // namespace

// Each client takes 25 containers through create → start → stop → rm; the clients wait for one
// another between the phases, so all 200 exist (and run) at the same time.
TEST_F(Load, TwoHundredContainersFromEightConcurrentClients) {
  const int kPerClient = containers_per_client(), kTotal = kClients * kPerClient;
  const auto cli = daemon_->cli_identity();
  const auto ca = daemon_->ca_pem();
  ApiClient api(daemon_->management(), cli, ca);
  const auto run_dir_before = tree(dir_->path() / "run");
  const ProcessSample before = sample_process(daemon_->pid());
  const long certificates_before = certificate_count(api);

  const char* phases[] = {"create", "start", "stop", "rm"};
  const char* state_after[] = {"created", "running", "stopped", ""};
  std::vector<std::map<std::string, int>> seen_after(4);
  int phase = 0;
  // Runs once all clients finished a phase: what the store holds now.
  auto phase_done = [&]() noexcept {
    try {
      seen_after[phase] = states(api);
    } catch (...) {
    }
    ++phase;
  };
  std::barrier sync(kClients, phase_done);

  Failures failures;
  std::mutex addresses_mutex;
  std::set<std::string> addresses;  // handed out while all 200 exist
  std::vector<std::vector<double>> latencies[4];
  for (auto& l : latencies) l.resize(kClients);
  std::vector<std::thread> clients;
  const auto t0 = Clock::now();
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&, c] {
      ApiClient client(daemon_->management(), cli, ca);
      std::vector<std::string> ids;
      // Phase 0: create.
      for (int i = 0; i < kPerClient; ++i) {
        const std::string name = fmt::format("load-{}-{}", c, i);
        const nlohmann::json body{
            {"image", "busybox:latest"},
            {"name", name},
            {"command",
             nlohmann::json::array({"sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"})}};
        auto a = client.request("POST", "/v1/containers", body.dump());
        latencies[0][c].push_back(a.micros);
        if (a.status != 201 || a.data().value("state", "") != "created") {
          failures.add(describe("create " + name, a));
        } else {
          ids.push_back(a.data().value("id", ""));
          std::lock_guard lock(addresses_mutex);
          addresses.insert(a.data().value("ip", ""));
        }
      }
      sync.arrive_and_wait();
      // Phases 1-3: start, stop, rm.
      const std::pair<std::string, std::string> steps[] = {
          {"POST", "/start"}, {"POST", "/stop"}, {"DELETE", ""}};
      for (int p = 1; p <= 3; ++p) {
        for (const auto& id : ids) {
          auto a = client.request(steps[p - 1].first, "/v1/containers/" + id + steps[p - 1].second);
          latencies[p][c].push_back(a.micros);
          // The stop is graceful: the shell's TERM trap ran (exit 0), no SIGKILL (137).
          const bool ok =
              a.status == 200 && (p == 3 ? a.data().value("id", "") == id
                                         : a.data().value("state", "") == state_after[p] &&
                                               (p != 2 || a.data().value("exit_code", -1) == 0));
          if (!ok) failures.add(describe(std::string(phases[p]) + " " + id, a));
        }
        sync.arrive_and_wait();
      }
    });
  for (auto& t : clients) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();

  std::printf(
      "[ load ] %d containers, %d clients: create/start/stop/rm in %.1f s wall (%.1f "
      "containers/s through the whole lifecycle)\n",
      kTotal, kClients, wall, kTotal / wall);
  for (int p = 0; p < 4; ++p) {
    std::vector<double> all;
    for (const auto& v : latencies[p]) all.insert(all.end(), v.begin(), v.end());
    print_latency(phases[p], summarize(all));
  }
  std::this_thread::sleep_for(std::chrono::seconds(2));  // hook processes gone, sockets closed
  const ProcessSample after = sample_process(daemon_->pid());
  std::printf("[ load ] condenserd: RSS %ld → %ld KiB, fds %ld → %ld, threads %ld → %ld\n",
              before.rss_kib, after.rss_kib, before.fds, after.fds, before.threads, after.threads);
  std::fflush(stdout);

  EXPECT_EQ(failures.count(), 0u) << failures.report();
  for (int p = 0; p < 3; ++p)
    EXPECT_EQ(seen_after[p], (std::map<std::string, int>{{state_after[p], kTotal}}))
        << "after " << phases[p];
  EXPECT_TRUE(seen_after[3].empty()) << ::testing::PrintToString(seen_after[3]);
  // Every lifecycle request is in the audit log, allowed.
  std::map<std::string, int> audited;
  for (const auto& r : daemon_->audit())
    if (r.value("action", "").rfind("container.", 0) == 0 && r["result"].value("code", 0) < 300)
      ++audited[r.value("action", "")];
  for (const char* action :
       {"container.create", "container.start", "container.stop", "container.delete"})
    EXPECT_EQ(audited[action], kTotal) << action;
  // 200 containers at once, 200 distinct addresses.
  EXPECT_EQ(addresses.size(), std::size_t(kTotal));
  expect_nothing_left(api, run_dir_before, certificates_before);
  EXPECT_GT(after.rss_kib, 0) << "condenserd is gone";
  // No descriptor per container kept: the ApiClient's own connection is the only new one.
  EXPECT_LE(after.fds, before.fds + 4);
}

// 10 000 read requests from 8 clients, mostly on keep-alive connections, every tenth on a fresh
// TLS connection of its own (a full handshake).
TEST_F(Load, TenThousandApiRequestsOverMtls) {
  constexpr int kRequests = 10000, kPerClient = kRequests / kClients, kFreshEvery = 10;
  const auto cli = daemon_->cli_identity();
  const auto ca = daemon_->ca_pem();
  ApiClient api(daemon_->management(), cli, ca);
  // Something to list and inspect: four containers (created, not started) and two policies.
  for (int i = 0; i < 4; ++i) {
    const nlohmann::json body{{"image", "busybox:latest"},
                              {"name", fmt::format("target-{}", i)},
                              {"command", nlohmann::json::array({"sleep", "1000"})}};
    auto a = api.request("POST", "/v1/containers", body.dump());
    ASSERT_EQ(a.status, 201u) << describe("create", a);
  }
  for (const char* destination : {"target-1", "target-2"}) {
    const nlohmann::json body{{"type", "ew"},
                              {"source", "target-0"},
                              {"destination", destination},
                              {"protocol", "tcp"},
                              {"dport", 8080}};
    auto a = api.request("POST", "/v1/policies", body.dump());
    ASSERT_EQ(a.status, 201u) << describe("policy add", a);
  }
  const std::vector<std::string> targets = {
      "/v1/containers",       "/v1/system/info", "/v1/containers/target-0", "/v1/policies",
      "/v1/containers?all=1", "/v1/networks",    "/v1/containers/target-3", "/v1/images"};
  const ProcessSample before = sample_process(daemon_->pid());

  Failures failures;
  std::vector<std::vector<double>> kept(kClients), fresh(kClients);
  std::vector<int> handshakes(kClients), reconnects(kClients);
  std::vector<std::thread> clients;
  const auto t0 = Clock::now();
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&, c] {
      // One keep-alive connection, and one client that opens a connection per request.
      ApiClient client(daemon_->management(), cli, ca), oneshot(daemon_->management(), cli, ca);
      for (int i = 0; i < kPerClient; ++i) {
        const std::string& target = targets[(c + i) % targets.size()];
        const bool new_connection = i % kFreshEvery == kFreshEvery - 1;
        auto a =
            (new_connection ? oneshot : client)
                .request("GET", target, {}, new_connection,
                         {"X-Request-Id: load-" + std::to_string(c) + "-" + std::to_string(i)});
        (new_connection ? fresh : kept)[c].push_back(a.micros);
        if (new_connection)
          ++handshakes[c];
        else if (a.new_connection)
          ++reconnects[c];
        if (a.status != 200 || a.json().value("status", "") != "success")
          failures.add(describe("GET " + target, a));
      }
    });
  for (auto& t : clients) t.join();
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();

  std::vector<double> all, all_kept, all_fresh;
  for (int c = 0; c < kClients; ++c) {
    all_kept.insert(all_kept.end(), kept[c].begin(), kept[c].end());
    all_fresh.insert(all_fresh.end(), fresh[c].begin(), fresh[c].end());
  }
  all = all_kept;
  all.insert(all.end(), all_fresh.begin(), all_fresh.end());
  const ProcessSample after = sample_process(daemon_->pid());
  std::printf("[ load ] %d requests, %d clients, mTLS (TLS 1.3): %.2f s, %.0f requests/s\n",
              kRequests, kClients, wall, kRequests / wall);
  print_latency("all", summarize(all));
  print_latency("keep-alive", summarize(all_kept));
  print_latency("new TLS connection", summarize(all_fresh));
  // `reconnects` counts each keep-alive connection's first opening too.
  int total_handshakes = 0, reopened = -kClients;
  for (int c = 0; c < kClients; ++c) {
    total_handshakes += handshakes[c] + reconnects[c];
    reopened += reconnects[c];
  }
  std::printf("[ load ] TLS handshakes: %d (keep-alive connections reopened: %d)\n",
              total_handshakes, reopened);
  std::printf("[ load ] condenserd: RSS %ld → %ld KiB, fds %ld → %ld, threads %ld → %ld\n",
              before.rss_kib, after.rss_kib, before.fds, after.fds, before.threads, after.threads);
  std::fflush(stdout);

  EXPECT_EQ(failures.count(), 0u) << failures.report();
  // The daemon lived through it and still answers.
  auto info = api.request("GET", "/v1/system/info");
  EXPECT_EQ(info.status, 200u) << describe("GET /v1/system/info", info);
  EXPECT_GT(after.rss_kib, 0);
  // One audit record per request, each allowed, each with the client's request id.
  std::set<std::string> audited;
  std::size_t denied = 0;
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  while (true) {
    audited.clear();
    denied = 0;
    for (const auto& r : daemon_->audit()) {
      const auto extra = r.value("extra", nlohmann::json::object());
      const std::string request_id = extra.value("client_request_id", "");
      if (request_id.rfind("load-", 0) != 0) continue;
      audited.insert(request_id);
      if (r["result"].value("code", 0) != 200) ++denied;
    }
    if (audited.size() >= kRequests || Clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_EQ(audited.size(), std::size_t(kRequests));
  EXPECT_EQ(denied, 0u);
}

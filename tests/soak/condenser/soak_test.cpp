// Soak (label soak, not in the default run): for RAIND_SOAK_SECONDS (default 1800) condenserd
// serves create/run/rm cycles from RAIND_SOAK_WORKERS (3) concurrent clients while two
// long-lived containers keep the flow-log pipeline (NFLOG → ulogd2 → enrichment), the DNS proxy
// and the metrics collector busy. Every RAIND_SOAK_SAMPLE_SECONDS (30) the clients finish their
// cycle and wait, and condenserd's RSS, open fds and threads are sampled: quiescent points, so
// one sample compares with another. The curve goes to RAIND_SOAK_CSV (default: in the test's temp
// dir) and to stdout. Asserted: no failed cycle, the generator's records kept flowing, fds and
// RSS flat after the warm-up (the first 10 % of the run), no certificate or address kept per
// cycle, and nothing left at the end.
#include <condition_variable>
#include <fstream>
#include <mutex>

#include "../../integration/containers/fixture.hpp"
#include "../../integration/load/load_support.hpp"

using namespace raind::testing;
using namespace raind::testing::containers;
using namespace raind::testing::load;

namespace {

// Workers stop between cycles while a sample is taken.
class Gate {
 public:
  // A worker between two cycles: waits while paused; false once the run is over.
  bool checkpoint() {
    std::unique_lock lock(mutex_);
    if (paused_) {
      ++parked_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return !paused_ || finished_; });
      --parked_;
    }
    return !finished_;
  }
  // Pauses the workers; true once all of them have parked.
  bool pause(int workers, std::chrono::seconds limit) {
    std::unique_lock lock(mutex_);
    paused_ = true;
    return changed_.wait_for(lock, limit, [&] { return parked_ == workers; });
  }
  void resume() {
    std::lock_guard lock(mutex_);
    paused_ = false;
    changed_.notify_all();
  }
  void finish() {
    std::lock_guard lock(mutex_);
    finished_ = true;
    paused_ = false;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool paused_ = false, finished_ = false;
  int parked_ = 0;
};

struct Sample {
  long t_s = 0;
  ProcessSample daemon;
  long ulogd_rss_kib = -1;
  long cycles = 0, failed = 0;
  long netflow_written = -1, dns_queries = -1, metrics_written = -1;
  long certificates = -1;
  bool quiescent = true;
};

constexpr const char* kCsvHeader =
    "t_s,rss_kib,fds,threads,cycles,failed_cycles,netflow_written,dns_queries,metrics_written,"
    "ulogd_rss_kib,certificates,quiescent";

std::string csv_row(const Sample& s) {
  return fmt::format("{},{},{},{},{},{},{},{},{},{},{},{}", s.t_s, s.daemon.rss_kib, s.daemon.fds,
                     s.daemon.threads, s.cycles, s.failed, s.netflow_written, s.dns_queries,
                     s.metrics_written, s.ulogd_rss_kib, s.certificates, s.quiescent ? 1 : 0);
}

// Two containers that talk all the time: DNS through the proxy (a rotating set of 50 names each,
// so both cache hits and misses), a ping alpha → bravo (denied east-west), HTTP alpha → bravo
// (allowed by a policy) and HTTP to the sandbox's outside host (north-south). Time limits come
// from `timeout`: this busybox's `wget -T` crashes (SIGSEGV, also outside any container).
std::string bravo_script() {
  return "httpd -p 8080 -h /etc; ns=$(awk '/^nameserver/{print $2; exit}' /etc/resolv.conf); "
         "i=0; while :; do i=$((i % 50 + 51)); "
         "raind-probe dns $ns svc$i.raind.test udp >/dev/null; "
         "timeout 5 wget -q -O /dev/null http://198.51.100.2/; sleep 1; done";
}

std::string alpha_script(const std::string& bravo_ip) {
  return "ns=$(awk '/^nameserver/{print $2; exit}' /etc/resolv.conf); "
         "i=0; while :; do i=$((i % 50 + 1)); "
         "raind-probe dns $ns svc$i.raind.test udp >/dev/null; "
         "ping -c 1 -W 1 " +
         bravo_ip + " >/dev/null; timeout 5 wget -q -O /dev/null http://" + bravo_ip +
         ":8080/hostname; timeout 5 wget -q -O /dev/null http://198.51.100.2/; sleep 1; done";
}

class Soak : public Containers {
 protected:
  std::string extra_config() const override { return "metrics:\n  interval_s: 5\n"; }

  Sample take_sample(ApiClient& api, long t_s, long cycles, long failed) {
    Sample s;
    s.t_s = t_s;
    s.daemon = sample_process(daemon_->pid());
    if (pid_t ulogd = child_named(daemon_->pid(), "ulogd"); ulogd > 0)
      s.ulogd_rss_kib = sample_process(ulogd).rss_kib;
    s.cycles = cycles;
    s.failed = failed;
    auto info = api.request("GET", "/v1/system/info");
    EXPECT_EQ(info.status, 200u) << describe("GET /v1/system/info", info);
    auto observability = info.data().value("observability", nlohmann::json::object());
    s.netflow_written =
        observability.value("netflow", nlohmann::json::object()).value("written", -1L);
    s.dns_queries = observability.value("dns", nlohmann::json::object()).value("queries", -1L);
    s.metrics_written =
        observability.value("metrics", nlohmann::json::object()).value("written", -1L);
    s.certificates =
        info.data().value("counts", nlohmann::json::object()).value("certificates", -1L);
    return s;
  }
};

}  // namespace

TEST_F(Soak, CreateRunRemoveCyclesWithFlowsKeepCondenserdFlat) {
  const long duration_s = env_long("RAIND_SOAK_SECONDS", 1800);
  const long interval_s = std::max(1L, env_long("RAIND_SOAK_SAMPLE_SECONDS", 30));
  const int workers = static_cast<int>(std::max(1L, env_long("RAIND_SOAK_WORKERS", 3)));
  const char* csv_env = std::getenv("RAIND_SOAK_CSV");
  const fs::path csv_path = csv_env && *csv_env ? fs::path(csv_env) : dir_->path() / "soak.csv";
  const auto cli = daemon_->cli_identity();
  const auto ca = daemon_->ca_pem();
  ApiClient api(daemon_->management(), cli, ca);

  const ProcessSample before = sample_process(daemon_->pid());
  const long certificates_before = certificate_count(api);
  const auto run_dir_before = tree(dir_->path() / "run");

  // The flow generator.
  const std::string bravo =
      run_detached({"--name", "bravo", "busybox:latest", "sh", "-c", bravo_script()});
  ASSERT_FALSE(bravo.empty());
  const std::string bravo_ip = inspect("bravo").value("ip", "");
  ASSERT_FALSE(bravo_ip.empty());
  ASSERT_FALSE(
      run_detached({"--name", "alpha", "busybox:latest", "sh", "-c", alpha_script(bravo_ip)})
          .empty());
  ASSERT_EQ(raind({"policy", "add", "--type", "ew", "-s", "alpha", "-d", "bravo", "-p", "tcp",
                   "--dport", "8080"})
                .code,
            0);
  ASSERT_EQ(raind({"policy", "commit", "-y"}).code, 0);
  {
    // The pipelines carry the generator's records before the clock starts.
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    Sample probe;
    while (Clock::now() < deadline) {
      probe = take_sample(api, 0, 0, 0);
      if (probe.netflow_written > 0 && probe.dns_queries > 0) break;
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    ASSERT_GT(probe.netflow_written, 0) << daemon_->output().substr(0, 4000);
    ASSERT_GT(probe.dns_queries, 0);
  }

  Gate gate;
  std::atomic<long> cycles{0}, failed{0};
  std::atomic<int> highest_octet{0};  // of the addresses the cycles' containers got
  std::mutex failures_mutex;
  std::vector<std::string> failures;
  auto record_failure = [&](std::string what) {
    ++failed;
    std::lock_guard lock(failures_mutex);
    if (failures.size() < 20) failures.push_back(std::move(what));
  };

  // One cycle: either run a command that fetches from the outside to completion and remove the
  // container, or start a long-running one, stop it and remove it.
  auto cycle = [&](ApiClient& client, int worker, long n) -> bool {
    const std::string name = fmt::format("soak-{}-{}", worker, n);
    const bool run_to_end = n % 2 == 0;
    const nlohmann::json command =
        run_to_end ? nlohmann::json::array(
                         {"timeout", "10", "wget", "-q", "-O", "/dev/null", "http://198.51.100.2/"})
                   : nlohmann::json::array({"sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"});
    const nlohmann::json body{
        {"image", "busybox:latest"}, {"name", name}, {"command", command}, {"start", true}};
    auto created = client.request("POST", "/v1/containers", body.dump());
    if (created.status != 201) {
      record_failure(describe("create " + name, created));
      return false;
    }
    const std::string id = created.data().value("id", "");
    for (int seen = highest_octet.load(), mine = last_octet(created.data().value("ip", ""));
         mine > seen && !highest_octet.compare_exchange_weak(seen, mine);) {
    }
    // A failed cycle still removes its container, so failures do not pile up in the curve.
    auto give_up = [&](std::string what) {
      record_failure(std::move(what));
      (void)client.request("DELETE", "/v1/containers/" + id + "?force=1");
      return false;
    };
    if (run_to_end) {
      nlohmann::json state = nlohmann::json::object();
      for (int tries = 0; tries < 3 && state.value("state", "") != "stopped"; ++tries) {
        auto waited = client.request("POST", "/v1/containers/" + id + "/wait?timeout=60");
        if (waited.status != 200) return give_up(describe("wait " + name, waited));
        state = waited.data();
      }
      if (state.value("state", "") != "stopped" || state.value("exit_code", -1) != 0)
        return give_up(fmt::format("{} ended as {}", name, state.dump()));
    } else {
      auto stopped = client.request("POST", "/v1/containers/" + id + "/stop");
      // Graceful: the shell's TERM trap ran (exit 0), no SIGKILL (137).
      if (stopped.status != 200 || stopped.data().value("state", "") != "stopped" ||
          stopped.data().value("exit_code", -1) != 0)
        return give_up(describe("stop " + name, stopped));
    }
    auto removed = client.request("DELETE", "/v1/containers/" + id);
    if (removed.status != 200) return give_up(describe("rm " + name, removed));
    return true;
  };

  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w)
    threads.emplace_back([&, w] {
      ApiClient client(daemon_->management(), cli, ca);
      for (long n = 0; gate.checkpoint(); ++n) {
        try {
          if (cycle(client, w, n)) ++cycles;
        } catch (const std::exception& e) {
          record_failure(fmt::format("cycle {} of worker {}: {}", n, w, e.what()));
        }
      }
    });

  std::ofstream csv(csv_path);
  csv << kCsvHeader << "\n";
  std::printf("[ soak ] %ld s, %d workers, a sample every %ld s; curve: %s\n[ soak ] %s\n",
              duration_s, workers, interval_s, csv_path.c_str(), kCsvHeader);
  std::vector<Sample> samples;
  const auto start = Clock::now();
  auto record = [&](Sample s) {
    csv << csv_row(s) << "\n" << std::flush;
    std::printf("[ soak ] %s\n", csv_row(s).c_str());
    std::fflush(stdout);
    EXPECT_GT(s.daemon.rss_kib, 0) << "condenserd is gone at t=" << s.t_s;
    samples.push_back(s);
  };
  record(take_sample(api, 0, 0, 0));
  for (long k = 1;; ++k) {
    const long t = std::min(k * interval_s, duration_s);
    std::this_thread::sleep_until(start + std::chrono::seconds(t));
    const bool quiet = gate.pause(workers, std::chrono::seconds(180));
    std::this_thread::sleep_for(std::chrono::seconds(1));  // hook processes and sockets settle
    Sample s = take_sample(api, t, cycles.load(), failed.load());
    s.quiescent = quiet;
    gate.resume();
    record(s);
    if (t >= duration_s) break;
  }
  gate.finish();
  for (auto& t : threads) t.join();
  csv.close();
  // With an explicit CSV path the daemon's own log is kept next to it (the temp dir goes).
  if (csv_env && *csv_env) {
    std::error_code ec;
    fs::copy_file(dir_->path() / "condenserd.out", csv_path.string() + ".condenserd.log",
                  fs::copy_options::overwrite_existing, ec);
  }

  // The generator ran the whole time.
  for (const char* name : {"alpha", "bravo"})
    EXPECT_EQ(inspect(name).value("state", ""), "running") << name;

  // Warm-up: the first 10 % of the run (caches, the SQLite page cache and malloc's arenas
  // reaching their working size). The last sample is compared with the first one after it.
  const Sample* warm = nullptr;
  for (const auto& s : samples)
    if (s.t_s > 0 && s.t_s * 10 >= duration_s) {
      warm = &s;
      break;
    }
  ASSERT_NE(warm, nullptr);
  const Sample& end = samples.back();
  const long rss_growth = end.daemon.rss_kib - warm->daemon.rss_kib;
  const long cycles_after_warm = end.cycles - warm->cycles;
  long peak_rss = 0;
  for (const auto& s : samples) peak_rss = std::max(peak_rss, s.daemon.rss_kib);
  std::printf(
      "[ soak ] before: RSS %ld KiB, %ld fds, %ld threads\n"
      "[ soak ] after warm-up (t=%ld s): RSS %ld KiB, %ld fds, %ld threads\n"
      "[ soak ] end (t=%ld s): RSS %ld KiB (%+ld KiB, %.2f KiB per 1000 cycles), %ld fds, "
      "%ld threads, peak RSS %ld KiB\n"
      "[ soak ] %ld cycles (%.2f per s), %ld failed; netflow records %ld, DNS queries %ld, "
      "metrics records %ld; highest address handed out 10.166.0.%d\n",
      before.rss_kib, before.fds, before.threads, warm->t_s, warm->daemon.rss_kib, warm->daemon.fds,
      warm->daemon.threads, end.t_s, end.daemon.rss_kib, rss_growth,
      cycles_after_warm > 0 ? 1000.0 * rss_growth / cycles_after_warm : 0.0, end.daemon.fds,
      end.daemon.threads, peak_rss, end.cycles, double(end.cycles) / duration_s, end.failed,
      end.netflow_written, end.dns_queries, end.metrics_written, highest_octet.load());
  std::fflush(stdout);

  EXPECT_EQ(failed.load(), 0) << ::testing::PrintToString(failures);
  EXPECT_GT(end.cycles, 0);
  for (const auto& s : samples) EXPECT_TRUE(s.quiescent) << "workers did not pause at " << s.t_s;
  // The pipelines kept working after the warm-up.
  EXPECT_GT(end.netflow_written, warm->netflow_written);
  EXPECT_GT(end.dns_queries, warm->dns_queries);
  EXPECT_GT(end.metrics_written, warm->metrics_written);
  // Flat: an fd held per cycle would show as hundreds here; the slack covers the DNS proxy's
  // and the metrics collector's short-lived sockets and files that a sample may catch open.
  EXPECT_LE(end.daemon.fds, warm->daemon.fds + 8);
  // 8 MiB over the ~thousands of cycles after the warm-up: a leak of a few KiB per cycle (one
  // container record, one connection's buffers) would exceed it; allocator noise does not.
  EXPECT_LT(rss_growth, 8 * 1024) << "condenserd RSS grew " << rss_growth << " KiB";
  // The store keeps no certificate of a removed container (at a quiescent point only the two
  // generator containers exist).
  EXPECT_EQ(end.certificates, warm->certificates);
  // IPAM hands out the lowest free address: with at most `workers` + 2 containers alive the
  // same few come back; an address kept per cycle would walk up to the end of the /24.
  EXPECT_LE(highest_octet.load(), workers + 2 + 8);

  // Nothing left: the generator removed, then the store, certificates, host and run dir as
  // before.
  for (const char* name : {"alpha", "bravo"}) {
    auto removed = api.request("DELETE", std::string("/v1/containers/") + name + "?force=1");
    EXPECT_EQ(removed.status, 200u) << describe(std::string("rm ") + name, removed);
  }
  auto listed = api.request("GET", "/v1/containers?all=1");
  ASSERT_EQ(listed.status, 200u);
  EXPECT_TRUE(listed.data().empty()) << listed.data().dump();
  EXPECT_EQ(certificate_count(api), certificates_before);
  expect_host_clean();
  EXPECT_EQ(tree(dir_->path() / "run"), run_dir_before);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const ProcessSample after = sample_process(daemon_->pid());
  std::printf("[ soak ] after cleanup: RSS %ld KiB, %ld fds, %ld threads\n", after.rss_kib,
              after.fds, after.threads);
  EXPECT_LE(after.fds, before.fds + 4);
}

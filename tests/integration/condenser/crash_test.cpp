// Store crash safety: acknowledged writes survive kill -9 in the middle of a write burst.
// The writes are real: POST /v1/pki/rotate records three certificates per call.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>

#include "condenser/store/store.hpp"
#include "harness.hpp"

using namespace raind::testing;
namespace store = raind::condenser::store;

TEST(CrashSafety, AcknowledgedWritesSurviveKill9) {
  TempDir dir("crash");
  Daemon daemon(dir.path());
  ASSERT_TRUE(daemon.start()) << daemon.output();
  const std::string ca = daemon.ca_pem();
  const auto cli = daemon.cli_identity();
  const Target mgmt{daemon.management(), {}};

  std::mutex mutex;
  std::set<std::string> acknowledged;
  std::atomic<int> acks{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&] {
      while (!stop) {
        auto r = call(mgmt, cli, ca, "POST", "/v1/pki/rotate", "{}");
        if (!r.response || r.status != 200) continue;  // cut off by the kill: not acknowledged
        std::lock_guard lock(mutex);
        const auto body = r.json();
        for (const auto& c : body["data"]) acknowledged.insert(c["serial"].get<std::string>());
        ++acks;
      }
    });
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (acks < 15 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  daemon.kill9();  // mid-burst: writers are in flight
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_GE(acks.load(), 15);

  {
    auto s = store::Store::open(daemon.db_path());
    ASSERT_TRUE(s) << s.error().what();
    EXPECT_EQ(*(*s)->integrity_check(), "ok");
    auto rows = (*s)->list_certificates(true);
    ASSERT_TRUE(rows);
    std::set<std::string> present;
    for (const auto& r : *rows) present.insert(r.cert.serial);
    for (const auto& serial : acknowledged)
      EXPECT_TRUE(present.contains(serial)) << "acknowledged certificate " << serial << " lost";
    // Exactly one active certificate per kind, whatever the kill interrupted.
    auto active = (*s)->list_certificates(false);
    std::map<std::string, int> per_kind;
    for (const auto& r : *active) ++per_kind[r.cert.kind];
    for (const auto& [kind, n] : per_kind) EXPECT_EQ(n, 1) << kind;
  }

  // The daemon restarts on the same state and serves with whatever PKI files survived.
  ASSERT_TRUE(daemon.start()) << daemon.output();
  auto r = call({daemon.management(), {}}, daemon.cli_identity(), daemon.ca_pem(), "GET",
                "/v1/system/info");
  ASSERT_TRUE(r.response) << r.error;
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(daemon.terminate(), 0);
}

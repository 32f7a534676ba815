#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "condenser/flowlog/enrich.hpp"
#include "condenser/flowlog/json_scan.hpp"
#include "raind/digest.hpp"
#include "raind/jsonl_writer.hpp"
#include "raind/sys/temp_dir.hpp"

namespace fl = raind::condenser::flowlog;
namespace id = raind::condenser::identity;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kContainers = 200;
constexpr std::size_t kRecords = 1'000'000;

std::string container_ip(std::size_t i) {
  return fmt::format("10.166.{}.{}", i / 250, i % 250 + 2);
}

id::Snapshot make_snapshot() {
  std::vector<id::ContainerIdentity> cs;
  for (std::size_t i = 0; i < kContainers; ++i) {
    std::string cid = fmt::format("01kgbench{:016}", i);
    cs.push_back({cid, fmt::format("svc-{}", i), "spiffe://raind/container/" + cid,
                  fmt::format("rd_{}", cid.substr(0, 11)), container_ip(i), ""});
  }
  return id::Snapshot(std::move(cs), {*id::parse_ipv4_net("10.166.0.0/16")});
}

void replace_all(std::string& s, const std::string& from, const std::string& to) {
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
}

// The 7 recorded lines × 200 address pairs (c1/c2 swapped for containers i and i+1; one in
// 20 addresses left unmapped so the unresolved path runs too), with EW/NS prefixes of the
// current grammar mixed in.
std::vector<std::string> make_stream() {
  std::ifstream in(RAIND_FLOWLOG_SAMPLE);
  std::vector<std::string> sample;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) sample.push_back(l);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < kContainers; ++i) {
    for (std::size_t k = 0; k < sample.size(); ++k) {
      std::string l = sample[k];
      replace_all(l, "\"10.166.0.2\"", "\"" + container_ip(i) + "\"");
      std::string peer = i % 20 == 0 ? "10.166.200.9" : container_ip((i + 1) % kContainers);
      replace_all(l, "\"10.166.0.3\"", "\"" + peer + "\"");
      if (k >= 4) replace_all(l, "RAIND-NS-OBS,id=observe", "RAIND-NS-DENY,id=predefined");
      out.push_back(std::move(l));
    }
  }
  return out;
}

// Wall time and this thread's CPU time: the CPU figure is the one-core throughput even when
// the machine is busy (this box has two cores, often shared with a build).
struct Figure {
  double wall;
  double cpu;
};

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

template <class F>
Figure time_it(std::size_t n, F&& f) {
  auto t0 = Clock::now();
  double c0 = thread_cpu_seconds();
  for (std::size_t i = 0; i < n; ++i) f(i);
  return {std::chrono::duration<double>(Clock::now() - t0).count(), thread_cpu_seconds() - c0};
}

void print(const char* what, std::size_t n, const Figure& f) {
  auto dn = static_cast<double>(n);
  std::printf("%-44s %8zu rec  wall %6.3f s %9.0f rec/s | cpu %6.3f s %9.0f rec/s %5.2f us/rec\n",
              what, n, f.wall, dn / f.wall, f.cpu, dn / f.cpu, 1e6 * f.cpu / dn);
}

}  // namespace

TEST(FlowlogBench, EnrichmentThroughput) {
  auto snapshot = make_snapshot();
  auto stream = make_stream();
  std::size_t bytes = 0;
  for (const auto& l : stream) bytes += l.size();
  std::printf(
      "\n== flowlog enrichment, one core: %zu distinct ulogd lines (avg %zu bytes), "
      "%zu containers ==\n",
      stream.size(), bytes / stream.size(), kContainers);
  const auto zone = fl::Zone::local();
  const auto received = std::chrono::system_clock::now();

  // Warm-up and correctness: every line enriches, and the output is valid JSON.
  std::string out;
  std::size_t unresolved = 0;
  for (const auto& l : stream) {
    out.clear();
    auto r = fl::enrich_into(out, l, snapshot, received, zone);
    ASSERT_TRUE(r) << l;
    ASSERT_TRUE(r->prefix_well_formed);
    auto j = json::parse(out);
    if (j.contains("unresolved")) ++unresolved;
  }
  EXPECT_GT(unresolved, 0u);

  std::size_t sink = 0;
  auto full = time_it(kRecords, [&](std::size_t i) {
    out.clear();
    auto r = fl::enrich_into(out, stream[i % stream.size()], snapshot, received, zone);
    sink += r ? out.size() : 0;
  });
  print("enrich_into (local zone, reused buffer)", kRecords, full);

  auto fixed = fl::Zone::fixed(std::chrono::hours(9));
  auto fixed_zone = time_it(kRecords, [&](std::size_t i) {
    out.clear();
    auto r = fl::enrich_into(out, stream[i % stream.size()], snapshot, received, fixed);
    sink += r ? out.size() : 0;
  });
  print("enrich_into (fixed zone)", kRecords, fixed_zone);

  auto fresh = time_it(kRecords, [&](std::size_t i) {
    auto r = fl::enrich(stream[i % stream.size()], snapshot, received, zone);
    sink += r ? r->line.size() : 0;
  });
  print("enrich (new string per record)", kRecords, fresh);

  // Breakdown.
  auto hash = time_it(kRecords, [&](std::size_t i) {
    sink += raind::sha256_hex(stream[i % stream.size()]).size();
  });
  print("  of which: sha256_hex of the line", kRecords, hash);
  struct NullSax : nlohmann::json_sax<json> {
    bool null() override { return true; }
    bool boolean(bool) override { return true; }
    bool number_integer(number_integer_t) override { return true; }
    bool number_unsigned(number_unsigned_t) override { return true; }
    bool number_float(number_float_t, const string_t&) override { return true; }
    bool string(string_t&) override { return true; }
    bool binary(binary_t&) override { return true; }
    bool start_object(std::size_t) override { return true; }
    bool key(string_t&) override { return true; }
    bool end_object() override { return true; }
    bool start_array(std::size_t) override { return true; }
    bool end_array() override { return true; }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
      return false;
    }
  } null_sax;
  auto scan = time_it(kRecords, [&](std::size_t i) {
    const auto& l = stream[i % stream.size()];
    sink += json::sax_parse(l, &null_sax) ? 1 : 0;
  });
  print("baseline: nlohmann SAX scan only (no DOM)", kRecords, scan);
  auto own_scan = time_it(kRecords, [&](std::size_t i) {
    const auto& l = stream[i % stream.size()];
    sink += fl::scan_json_object(l, [&](const fl::JsonMember& m) { sink += m.key.size(); }) ==
            fl::ScanStatus::ok;
  });
  print("  of which: json_scan of the line", kRecords, own_scan);

  // Baseline: a DOM parse alone (what a straightforward implementation starts with).
  constexpr std::size_t kDom = 200'000;
  auto dom =
      time_it(kDom, [&](std::size_t i) { sink += json::parse(stream[i % stream.size()]).size(); });
  print("baseline: nlohmann DOM parse only", kDom, dom);

  // The pipeline's write path: enrich + one write(2) per record into the rotating writer.
  auto tmp = raind::sys::TempDir::create("flowlog-bench");
  ASSERT_TRUE(tmp);
  auto writer = raind::JsonlWriter::open(*tmp / "raind_netflow.jsonl", {}, 0640);
  ASSERT_TRUE(writer);
  constexpr std::size_t kWrites = 300'000;
  auto written = time_it(kWrites, [&](std::size_t i) {
    out.clear();
    if (fl::enrich_into(out, stream[i % stream.size()], snapshot, received, zone))
      sink += (*writer)->write_line(out) ? 1 : 0;
  });
  print("enrich + JsonlWriter::write_line (tmp file)", kWrites, written);
  std::printf("(checksum %zu)\n", sink);
  EXPECT_GT(sink, 0u);
}

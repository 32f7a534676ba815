// ulogd JSON records (condenser/flowlog/json_scan.cpp, enrich.cpp, prefix.cpp) from arbitrary
// text, enriched against a small identity directory (two containers of bottle "shop" and one
// without a bottle, in the container pool 10.166.0.0/16).
//
// Invariants: the scanner agrees with nlohmann on what is JSON and what is an object (for texts
// without a NUL byte, BOM or number beyond double's range, and below its 64-level nesting
// limit), reports top-level string members with the same decoded value; an
// enriched record is one valid JSON object; a rejected record leaves the output untouched.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "condenser/flowlog/enrich.hpp"
#include "condenser/flowlog/json_scan.hpp"
#include "fuzz_check.hpp"

namespace flowlog = raind::condenser::flowlog;
namespace identity = raind::condenser::identity;

namespace {

const identity::Snapshot& directory() {
  static const identity::Snapshot snapshot(
      {
          {"01kg2cnf0ytv", "shop-web", "spiffe://raind/container/01kg2cnf0ytv", "rd_01kg2cnf0ytv",
           "10.166.0.2", "f6:04:7c:63:a1:cc", "shop"},
          {"01kg2cnf0yzz", "shop-db", "spiffe://raind/container/01kg2cnf0yzz", "rd_01kg2cnf0yzz",
           "10.166.0.3", "5e:47:82:f0:33:ec", "shop"},
          {"01kg2cnf1abc", "lonely", "spiffe://raind/container/01kg2cnf1abc", "rd_01kg2cnf1abc",
           "10.166.1.7", "", ""},
      },
      {*identity::parse_ipv4_net("10.166.0.0/16")});
  return snapshot;
}

std::size_t bracket_count(std::string_view text) {
  std::size_t n = 0;
  for (char c : text) n += (c == '[' || c == '{');
  return n;
}

void check_scanner(std::string_view text) {
  struct Seen {
    flowlog::JsonType type;
    std::string value;
    int count = 0;
  };
  std::map<std::string, Seen> members;
  auto status = flowlog::scan_json_object(text, [&](const flowlog::JsonMember& m) {
    Seen& seen = members[std::string(m.key)];
    seen.type = m.type;
    seen.value = std::string(m.value);
    ++seen.count;
  });
  // nlohmann skips a UTF-8 byte order mark, stops reading at a NUL byte and has no nesting
  // limit; the scanner does none of these.
  if (text.starts_with("\xEF\xBB\xBF") || text.find('\0') != std::string_view::npos ||
      bracket_count(text) >= 60)
    return;
  nlohmann::json doc;
  bool json = true;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // nlohmann refuses numbers beyond double's range (19e5338264), which JSON allows.
    if (std::string_view(e.what()).find("number overflow") != std::string_view::npos) return;
    json = false;
  }
  RAIND_FUZZ_CHECK((status != flowlog::ScanStatus::malformed) == json);
  if (!json) return;
  RAIND_FUZZ_CHECK((status == flowlog::ScanStatus::ok) == doc.is_object());
  if (status != flowlog::ScanStatus::ok) return;
  RAIND_FUZZ_CHECK(members.size() == doc.size());
  for (const auto& [key, seen] : members) {
    auto it = doc.find(key);
    RAIND_FUZZ_CHECK(it != doc.end());
    if (seen.count > 1) continue;  // duplicates: nlohmann keeps the last one
    if (seen.type == flowlog::JsonType::string)
      RAIND_FUZZ_CHECK(it->is_string() && it->get_ref<const std::string&>() == seen.value);
    if (seen.type == flowlog::JsonType::number) RAIND_FUZZ_CHECK(it->is_number());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  check_scanner(line);

  const auto received = std::chrono::system_clock::time_point(std::chrono::seconds(1795338265));
  const flowlog::Zone zone = flowlog::Zone::fixed(std::chrono::hours(9));
  std::string out = "previous record\n";
  const std::size_t before = out.size();
  auto result = flowlog::enrich_into(out, line, directory(), received, zone);
  if (!result) {
    RAIND_FUZZ_CHECK(out == "previous record\n");
    (void)flowlog::to_string(result.error());
    return 0;
  }
  std::string_view record = std::string_view(out).substr(before);
  auto doc = nlohmann::json::parse(record, nullptr, false);
  RAIND_FUZZ_CHECK(!doc.is_discarded() && doc.is_object());
  RAIND_FUZZ_CHECK(record.find('\n') == std::string_view::npos);

  // The same record in a zone west of UTC.
  auto west = flowlog::enrich(line, directory(), received,
                              flowlog::Zone::fixed(-std::chrono::minutes(330)));
  RAIND_FUZZ_CHECK(west.has_value() && west->prefix_well_formed == result->prefix_well_formed);
  RAIND_FUZZ_CHECK(nlohmann::json::accept(west->line));
  return 0;
}

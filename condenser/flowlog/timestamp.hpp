#pragma once
// RFC 3339 timestamps with an explicit numeric offset ("2026-01-28T16:00:23.594406+09:00").
// ulogd's own `timestamp` drops the offset on UTC hosts (a 2.0.8 bug), so flow records are
// stamped from the epoch fields instead and rendered here.
#include <chrono>
#include <cstdint>
#include <string>

namespace raind::condenser::flowlog {

// The zone records are rendered in: the host's local zone (TZ / /etc/localtime, read through
// localtime_r, so a TZ change needs tzset()) or a fixed offset (tests, or a pinned deployment).
class Zone {
 public:
  static Zone local() { return Zone(true, 0); }
  static Zone fixed(std::chrono::seconds offset) {
    return Zone(false, static_cast<long>(offset.count()));
  }
  bool is_local() const { return local_; }

  struct Civil {
    int year, month, day, hour, minute, second;
    long offset_seconds;
  };
  Civil civil(std::int64_t epoch_seconds) const;

 private:
  Zone(bool local, long offset) : local_(local), offset_(offset) {}
  bool local_;
  long offset_;
};

// Appends YYYY-MM-DDTHH:MM:SS.<fraction>±HH:MM; fraction_digits is 6 (µs) or 9 (ns) and
// `fraction` is in those units.
void append_rfc3339(std::string& out, std::int64_t epoch_seconds, std::uint32_t fraction,
                    int fraction_digits, const Zone& zone);
std::string format_rfc3339(std::chrono::system_clock::time_point time, const Zone& zone,
                           int fraction_digits = 9);

}  // namespace raind::condenser::flowlog

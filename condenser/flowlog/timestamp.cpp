#include "condenser/flowlog/timestamp.hpp"

#include <ctime>

namespace raind::condenser::flowlog {
namespace {

// Days since 1970-01-01 → civil date (Howard Hinnant's algorithm); exact for any int64 day.
void civil_from_days(std::int64_t z, int& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(yoe + era * 400 + (m <= 2));
}

void put2(std::string& out, int v) {
  out.push_back(static_cast<char>('0' + v / 10 % 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

}  // namespace

Zone::Civil Zone::civil(std::int64_t epoch_seconds) const {
  Civil c{};
  if (local_) {
    std::time_t t = static_cast<std::time_t>(epoch_seconds);
    std::tm tm{};
    if (::localtime_r(&t, &tm) != nullptr) {
      c.year = tm.tm_year + 1900;
      c.month = tm.tm_mon + 1;
      c.day = tm.tm_mday;
      c.hour = tm.tm_hour;
      c.minute = tm.tm_min;
      c.second = tm.tm_sec;
      c.offset_seconds = tm.tm_gmtoff;
      return c;
    }
    // Out of range for the zone database: fall through to UTC.
  }
  c.offset_seconds = local_ ? 0 : offset_;
  std::int64_t t = epoch_seconds + c.offset_seconds;
  std::int64_t days = t >= 0 ? t / 86400 : (t - 86399) / 86400;
  std::int64_t secs = t - days * 86400;
  civil_from_days(days, c.year, c.month, c.day);
  c.hour = static_cast<int>(secs / 3600);
  c.minute = static_cast<int>(secs / 60 % 60);
  c.second = static_cast<int>(secs % 60);
  return c;
}

void append_rfc3339(std::string& out, std::int64_t epoch_seconds, std::uint32_t fraction,
                    int fraction_digits, const Zone& zone) {
  if (fraction_digits > 9) fraction_digits = 9;
  Zone::Civil c = zone.civil(epoch_seconds);
  int year = c.year;
  if (year < 0 || year > 9999) year = year < 0 ? 0 : 9999;  // RFC 3339 has four digits
  put2(out, year / 100);
  put2(out, year % 100);
  out.push_back('-');
  put2(out, c.month);
  out.push_back('-');
  put2(out, c.day);
  out.push_back('T');
  put2(out, c.hour);
  out.push_back(':');
  put2(out, c.minute);
  out.push_back(':');
  put2(out, c.second);
  if (fraction_digits > 0) {
    out.push_back('.');
    char digits[9];
    std::uint32_t f = fraction;
    for (int i = fraction_digits - 1; i >= 0; --i) {
      digits[i] = static_cast<char>('0' + f % 10);
      f /= 10;
    }
    out.append(digits, static_cast<std::size_t>(fraction_digits));
  }
  long off = c.offset_seconds;
  out.push_back(off < 0 ? '-' : '+');
  if (off < 0) off = -off;
  put2(out, static_cast<int>(off / 3600));
  out.push_back(':');
  put2(out, static_cast<int>(off / 60 % 60));
}

std::string format_rfc3339(std::chrono::system_clock::time_point time, const Zone& zone,
                           int fraction_digits) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
  std::int64_t secs = ns >= 0 ? ns / 1000000000 : (ns - 999999999) / 1000000000;
  auto frac_ns = static_cast<std::uint32_t>(ns - secs * 1000000000);
  std::uint32_t fraction = frac_ns;
  if (fraction_digits == 6) fraction = frac_ns / 1000;
  if (fraction_digits == 3) fraction = frac_ns / 1000000;
  std::string out;
  out.reserve(40);
  append_rfc3339(out, secs, fraction, fraction_digits, zone);
  return out;
}

}  // namespace raind::condenser::flowlog

#include <gtest/gtest.h>
#include <stdlib.h>

#include <ctime>
#include <optional>
#include <string>

#include "condenser/flowlog/timestamp.hpp"

namespace fl = raind::condenser::flowlog;
using namespace std::chrono_literals;

namespace {

std::string render(std::int64_t sec, std::uint32_t usec, const fl::Zone& zone) {
  std::string out;
  fl::append_rfc3339(out, sec, usec, 6, zone);
  return out;
}

// Sets TZ for the scope (and tzset()s both ways): localtime_r reads the zone only on tzset.
class ScopedTz {
 public:
  explicit ScopedTz(const char* tz) {
    if (const char* old = ::getenv("TZ")) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTz() {
    if (old_)
      ::setenv("TZ", old_->c_str(), 1);
    else
      ::unsetenv("TZ");
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

constexpr std::int64_t kSample = 1795338264;  // 2026-11-22T09:04:24Z, from the ulogd sample

}  // namespace

TEST(Timestamp, LocalZoneFollowsTz) {
  {
    ScopedTz tz("Asia/Tokyo");
    EXPECT_EQ(render(kSample, 70933, fl::Zone::local()), "2026-11-22T18:04:24.070933+09:00");
  }
  {
    ScopedTz tz("UTC");
    EXPECT_EQ(render(kSample, 70933, fl::Zone::local()), "2026-11-22T09:04:24.070933+00:00");
  }
  {
    ScopedTz tz("Asia/Kolkata");
    EXPECT_EQ(render(kSample, 5, fl::Zone::local()), "2026-11-22T14:34:24.000005+05:30");
  }
  {
    ScopedTz tz("America/New_York");  // EST in November, EDT in July
    EXPECT_EQ(render(kSample, 0, fl::Zone::local()), "2026-11-22T04:04:24.000000-05:00");
    EXPECT_EQ(render(1784000000, 0, fl::Zone::local()), "2026-07-13T23:33:20.000000-04:00");
  }
}

TEST(Timestamp, FixedOffsets) {
  EXPECT_EQ(render(kSample, 70933, fl::Zone::fixed(9h)), "2026-11-22T18:04:24.070933+09:00");
  EXPECT_EQ(render(kSample, 70933, fl::Zone::fixed(0h)), "2026-11-22T09:04:24.070933+00:00");
  EXPECT_EQ(render(kSample, 1, fl::Zone::fixed(-(9h + 30min))), "2026-11-21T23:34:24.000001-09:30");
  EXPECT_EQ(render(0, 0, fl::Zone::fixed(0h)), "1970-01-01T00:00:00.000000+00:00");
  EXPECT_EQ(render(951782400, 0, fl::Zone::fixed(0h)), "2000-02-29T00:00:00.000000+00:00");
  EXPECT_EQ(render(4102444799, 999999, fl::Zone::fixed(0h)), "2099-12-31T23:59:59.999999+00:00");
}

TEST(Timestamp, NanosecondsForReceivedTs) {
  auto t = std::chrono::system_clock::time_point(std::chrono::seconds(kSample) + 800043049ns);
  EXPECT_EQ(fl::format_rfc3339(t, fl::Zone::fixed(9h)), "2026-11-22T18:04:24.800043049+09:00");
  EXPECT_EQ(fl::format_rfc3339(t, fl::Zone::fixed(9h), 6), "2026-11-22T18:04:24.800043+09:00");
}

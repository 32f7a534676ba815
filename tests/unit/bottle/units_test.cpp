#include <gtest/gtest.h>

#include "condenser/bottle/units.hpp"

namespace raind::condenser::bottle {
namespace {

using std::chrono::milliseconds;

TEST(BottleUnits, MemorySizes) {
  EXPECT_EQ(parse_memory_size("1048576"), 1048576);
  EXPECT_EQ(parse_memory_size("100b"), 100);
  EXPECT_EQ(parse_memory_size("512k"), 512 * 1024);
  EXPECT_EQ(parse_memory_size("64m"), 64 * 1024 * 1024);
  EXPECT_EQ(parse_memory_size("64M"), 64 * 1024 * 1024);
  EXPECT_EQ(parse_memory_size("2g"), std::int64_t{2} << 30);
  for (const char* bad : {"", "m", "0", "-5m", "12x", "1.5g", "64 m", "64mb", "2000000g"}) {
    auto r = parse_memory_size(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().code(), Errc::invalid_argument);
    }
  }
}

TEST(BottleUnits, Durations) {
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("1s"), milliseconds(1000));
  EXPECT_EQ(parse_duration("2m"), milliseconds(120000));
  EXPECT_EQ(parse_duration("1h"), milliseconds(3600000));
  EXPECT_EQ(parse_duration("24h"), milliseconds(86400000));
  for (const char* bad : {"", "5", "s", "0s", "-1s", "1.5s", "1d", "10 s", "1sec", "25h", "1ms2"}) {
    auto r = parse_duration(bad);
    EXPECT_FALSE(r) << bad;
  }
}

}  // namespace
}  // namespace raind::condenser::bottle

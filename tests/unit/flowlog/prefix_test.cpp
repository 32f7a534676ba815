#include <gtest/gtest.h>

#include <string>

#include "condenser/flowlog/prefix.hpp"

namespace fl = raind::condenser::flowlog;
using fl::FlowKind;
using fl::PolicySource;
using fl::Verdict;

namespace {

void expect_unknown(std::string_view prefix) {
  auto info = fl::classify_prefix(prefix);
  EXPECT_FALSE(info.well_formed) << prefix;
  EXPECT_EQ(info.kind, FlowKind::unknown) << prefix;
  EXPECT_EQ(info.verdict, Verdict::unknown) << prefix;
  EXPECT_EQ(info.source, PolicySource::unknown) << prefix;
  EXPECT_TRUE(info.policy_id.empty()) << prefix;
}

}  // namespace

TEST(Prefix, EveryPrefixThePolicyCompilerEmits) {
  struct Case {
    const char* prefix;
    FlowKind kind;
    Verdict verdict;
    PolicySource source;
    const char* id;
    bool host;
  } cases[] = {
      {"RAIND-EW-ALLOW,id=01kgtyrrnrxvncpjcmjz2rtnm1", FlowKind::east_west, Verdict::allow,
       PolicySource::user, "01kgtyrrnrxvncpjcmjz2rtnm1", false},
      {"RAIND-EW-DENY,id=predefined", FlowKind::east_west, Verdict::deny, PolicySource::predefined,
       "predefined", false},
      {"RAIND-EW-DENY,id=host", FlowKind::east_west, Verdict::deny, PolicySource::predefined,
       "host", true},
      {"RAIND-NS-ALLOW,id=predefined", FlowKind::north_south, Verdict::allow,
       PolicySource::predefined, "predefined", false},
      {"RAIND-NS-ALLOW,id=01kgtyrrnrxvncpjcmjz2rtnm5", FlowKind::north_south, Verdict::allow,
       PolicySource::user, "01kgtyrrnrxvncpjcmjz2rtnm5", false},
      {"RAIND-NS-DENY,id=predefined", FlowKind::north_south, Verdict::deny,
       PolicySource::predefined, "predefined", false},
      {"RAIND-NS-DENY,id=01kgtyrrnrxvncpjcmjz2rtnm4", FlowKind::north_south, Verdict::deny,
       PolicySource::user, "01kgtyrrnrxvncpjcmjz2rtnm4", false},
  };
  for (const auto& c : cases) {
    auto info = fl::classify_prefix(c.prefix);
    EXPECT_TRUE(info.well_formed) << c.prefix;
    EXPECT_EQ(info.kind, c.kind) << c.prefix;
    EXPECT_EQ(info.verdict, c.verdict) << c.prefix;
    EXPECT_EQ(info.source, c.source) << c.prefix;
    EXPECT_EQ(info.policy_id, c.id) << c.prefix;
    EXPECT_EQ(info.host_guard, c.host) << c.prefix;
  }
}

// Upstream matched substrings of the whole prefix: an NS prefix whose id contains "EW" (or
// "ALLOW") came out east-west (or allow).
TEST(Prefix, IdContentsNeverChangeTheClassification) {
  auto info = fl::classify_prefix("RAIND-NS-DENY,id=EW-ALLOW-NEW");
  EXPECT_TRUE(info.well_formed);
  EXPECT_EQ(info.kind, FlowKind::north_south);
  EXPECT_EQ(info.verdict, Verdict::deny);
  EXPECT_EQ(info.policy_id, "EW-ALLOW-NEW");
  info = fl::classify_prefix("RAIND-EW-ALLOW,id=NS-DENY");
  EXPECT_EQ(info.kind, FlowKind::east_west);
  EXPECT_EQ(info.verdict, Verdict::allow);
}

// Upstream indexed past a missing comma and crashed.
TEST(Prefix, HostilePrefixesAreUnknownNotFatal) {
  for (std::string_view p : {"",
                             "RAIND",
                             "RAIND-",
                             "RAIND-EW",
                             "RAIND-EW-",
                             "RAIND-EW-ALLOW",
                             "RAIND-EW-ALLOW,",
                             "RAIND-EW-ALLOW,id=",
                             "RAIND-EW-ALLOW,id",
                             "RAIND-EW-ALLOWid=x",
                             "RAIND-EW-ALLOW;id=x",
                             "RAIND-XX-ALLOW,id=x",
                             "RAIND-EW-MAYBE,id=x",
                             "RAIND-NS-OBS,id=observe",
                             "raind-ew-allow,id=x",
                             " RAIND-EW-ALLOW,id=x",
                             "RAIND-EW-ALLOW,id=x ",
                             "RAIND-EW-ALLOW,id=a,b",
                             "RAIND-EW-ALLOW,id=a\"b",
                             "RAIND-EW-ALLOW,id=a\nb",
                             "RAIND-EW-ALLOW,ID=x",
                             "RAIND-EW-ALLOW,,id=x",
                             "RAIND-EWALLOW,id=x",
                             "EW-ALLOW,id=x",
                             "RAIND-EW-DENY-ALLOW,id=x",
                             "RAIND-EW-ALLOW,id=\xff\xfe",
                             "garbage"})
    expect_unknown(p);
  expect_unknown(std::string_view("RAIND-EW-ALLOW,id=a\0b", 21));
  expect_unknown("RAIND-EW-ALLOW,id=" + std::string(65, 'a'));
  EXPECT_TRUE(fl::classify_prefix("RAIND-EW-ALLOW,id=" + std::string(64, 'a')).well_formed);
}

TEST(Prefix, Names) {
  EXPECT_EQ(fl::to_string(FlowKind::east_west), "east-west");
  EXPECT_EQ(fl::to_string(FlowKind::north_south), "north-south");
  EXPECT_EQ(fl::to_string(FlowKind::unknown), "unknown");
  EXPECT_EQ(fl::to_string(Verdict::allow), "allow");
  EXPECT_EQ(fl::to_string(Verdict::deny), "deny");
  EXPECT_EQ(fl::to_string(Verdict::unknown), "unknown");
  EXPECT_EQ(fl::to_string(PolicySource::user), "user");
  EXPECT_EQ(fl::to_string(PolicySource::predefined), "predefined");
  EXPECT_EQ(fl::to_string(PolicySource::unknown), "unknown");
}

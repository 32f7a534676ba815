#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "condenser/flowlog/json_scan.hpp"

namespace fl = raind::condenser::flowlog;
using fl::ScanStatus;

namespace {

struct Member {
  std::string key;
  fl::JsonType type;
  std::string value;
  bool operator==(const Member&) const = default;
};

ScanStatus scan(std::string_view text, std::vector<Member>* members = nullptr) {
  return fl::scan_json_object(text, [&](const fl::JsonMember& m) {
    if (members) members->push_back({std::string(m.key), m.type, std::string(m.value)});
  });
}

}  // namespace

TEST(JsonScan, TopLevelMembers) {
  std::vector<Member> m;
  ASSERT_EQ(
      scan(
          R"( {"a":"x","b":-1.5e3,"c":{"d":[1,"2",null]},"e":true,"f\u00e9":"q\"\\\/\n\ud83d\ude00"} )",
          &m),
      ScanStatus::ok);
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[0], (Member{"a", fl::JsonType::string, "x"}));
  EXPECT_EQ(m[1], (Member{"b", fl::JsonType::number, "-1.5e3"}));
  EXPECT_EQ(m[2], (Member{"c", fl::JsonType::other, ""}));
  EXPECT_EQ(m[3], (Member{"e", fl::JsonType::other, ""}));
  EXPECT_EQ(m[4], (Member{"f\xc3\xa9", fl::JsonType::string, "q\"\\/\n\xf0\x9f\x98\x80"}));
  EXPECT_EQ(scan("{}"), ScanStatus::ok);
}

TEST(JsonScan, NotObjectAndMalformed) {
  for (const char* t : {"[]", "1", "\"s\"", "null", "true", " [1,{}] "})
    EXPECT_EQ(scan(t), ScanStatus::not_object) << t;
  for (const char* t : {"",
                        " ",
                        "{",
                        "}",
                        "{\"a\"}",
                        "{\"a\":}",
                        "{\"a\":1,}",
                        "{,}",
                        "{\"a\":1}x",
                        "{} {}",
                        "{\"a\":01}",
                        "{\"a\":1.}",
                        "{\"a\":.5}",
                        "{\"a\":1e}",
                        "{\"a\":-}",
                        "{\"a\":+1}",
                        "{\"a\":tru}",
                        "{\"a\":nul}",
                        "{\"a\":\"\\x\"}",
                        "{\"a\":\"\\u12\"}",
                        "{\"a\":\"\\ud800\"}",
                        "{\"a\":\"\\udc00\"}",
                        "{\"a\":\"\t\"}",
                        "{\"a\":\"\xff\"}",
                        "{\"a\":\"\xc0\xaf\"}",
                        "{\"a\":\"\xed\xa0\x80\"}",
                        "{\"a\":[1,]}",
                        "{\"a\":{\"b\"}}",
                        "{'a':1}",
                        "{a:1}",
                        "[1",
                        "{\"a\":1",
                        "{\"a\":\"unterminated}"})
    EXPECT_EQ(scan(t), ScanStatus::malformed) << t;
  std::string deep = "{\"a\":" + std::string(100, '[') + std::string(100, ']') + "}";
  EXPECT_EQ(scan(deep), ScanStatus::malformed);
  std::string ok_depth = "{\"a\":" + std::string(60, '[') + std::string(60, ']') + "}";
  EXPECT_EQ(scan(ok_depth), ScanStatus::ok);
}

// Differential check against nlohmann's strict parser on mutated real records: whatever one
// accepts as JSON the other accepts, and the scanner's "object" verdict matches.
TEST(JsonScan, AgreesWithNlohmannOnMutatedRecords) {
  std::ifstream in(RAIND_FLOWLOG_SAMPLE);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);)
    if (!l.empty()) lines.push_back(l);
  ASSERT_FALSE(lines.empty());
  std::mt19937 rng(12345);
  const std::string alphabet = "{}[]\":,\\u0123456789eE.-+ tfnrl\x01\xc3\xa9\xff";
  int disagreements = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s = lines[rng() % lines.size()];
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      std::size_t pos = rng() % s.size();
      switch (rng() % 3) {
        case 0:
          s[pos] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          s.erase(pos, 1 + rng() % 4);
          break;
        default:
          s.insert(pos, 1, alphabet[rng() % alphabet.size()]);
          break;
      }
      if (s.empty()) s = "x";
    }
    bool accepted = nlohmann::json::accept(s);
    // nlohmann also rejects numbers beyond double's range (41e409), which RFC 8259 leaves to
    // implementations; the scanner checks only the grammar. Not a disagreement about syntax.
    if (!accepted) {
      try {
        auto parsed = nlohmann::json::parse(s);
        (void)parsed;
      } catch (const nlohmann::json::exception& e) {
        if (std::string(e.what()).find("number overflow") != std::string::npos) continue;
      }
    }
    ScanStatus st = scan(s);
    bool ok = st != ScanStatus::malformed;
    if (accepted != ok ||
        (accepted && (st == ScanStatus::ok) != nlohmann::json::parse(s).is_object())) {
      if (++disagreements < 5) ADD_FAILURE() << "disagree on: " << s;
    }
  }
  EXPECT_EQ(disagreements, 0);
}

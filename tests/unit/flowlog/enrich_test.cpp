#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "condenser/flowlog/enrich.hpp"
#include "raind/digest.hpp"

namespace fl = raind::condenser::flowlog;
namespace id = raind::condenser::identity;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> sample_lines() {
  std::ifstream in(RAIND_FLOWLOG_SAMPLE);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) lines.push_back(line);
  return lines;
}

// c1 = 10.166.0.2, c2 = 10.166.0.3 as in the recorded sample; 10.166.0.0/16 is the pool.
id::Snapshot sample_snapshot() {
  std::vector<id::ContainerIdentity> containers = {
      {"01kg1kbxsq3wc1", "c1", "spiffe://raind/container/01kg1kbxsq3wc1", "rd_01kg1kbxsq3w",
       "10.166.0.2", "f6:04:7c:63:a1:cc"},
      {"01kg1kbxsq3wc2", "c2", "spiffe://raind/container/01kg1kbxsq3wc2", "rd_01kg1kbxsq3x",
       "10.166.0.3", "5e:47:82:f0:33:ec"},
  };
  return id::Snapshot(containers, {*id::parse_ipv4_net("10.166.0.0/16")});
}

const auto kReceived = std::chrono::system_clock::time_point(1795338264s + 800043049ns);
const fl::Zone kTokyo = fl::Zone::fixed(9h);

json enrich_json(std::string_view line, const id::Snapshot& snapshot) {
  auto r = fl::enrich(line, snapshot, kReceived, kTokyo);
  EXPECT_TRUE(r.has_value()) << line;
  if (!r) return {};
  EXPECT_EQ(r->line.find('\n'), std::string::npos);
  return json::parse(r->line);
}

json container(const std::string& which, int port = -1) {
  json j = {{"kind", "container"}};
  if (which == "c1")
    j.update({{"ip", "10.166.0.2"},
              {"container_id", "01kg1kbxsq3wc1"},
              {"container_name", "c1"},
              {"spiffe_id", "spiffe://raind/container/01kg1kbxsq3wc1"},
              {"veth", "rd_01kg1kbxsq3w"}});
  else
    j.update({{"ip", "10.166.0.3"},
              {"container_id", "01kg1kbxsq3wc2"},
              {"container_name", "c2"},
              {"spiffe_id", "spiffe://raind/container/01kg1kbxsq3wc2"},
              {"veth", "rd_01kg1kbxsq3x"}});
  if (port >= 0) j["port"] = port;
  return j;
}

}  // namespace

// The whole first record, byte for byte: field order and formatting are part of the contract.
TEST(Enrich, FirstSampleRecordExactly) {
  auto lines = sample_lines();
  ASSERT_EQ(lines.size(), 7u);
  auto r = fl::enrich(lines[0], sample_snapshot(), kReceived, kTokyo);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->prefix_well_formed);
  EXPECT_EQ(r->line,
            R"({"generated_ts":"2026-11-22T18:04:24.070933+09:00",)"
            R"("received_ts":"2026-11-22T18:04:24.800043049+09:00","event_type":"log.netflow",)"
            R"("policy":{"source":"user","id":"pol-c1-c2-icmp"},"kind":"east-west",)"
            R"("verdict":"allow","proto":"ICMP",)"
            R"("src":{"kind":"container","ip":"10.166.0.2","container_id":"01kg1kbxsq3wc1",)"
            R"("container_name":"c1","spiffe_id":"spiffe://raind/container/01kg1kbxsq3wc1",)"
            R"("veth":"rd_01kg1kbxsq3w"},)"
            R"("dst":{"kind":"container","ip":"10.166.0.3","container_id":"01kg1kbxsq3wc2",)"
            R"("container_name":"c2","spiffe_id":"spiffe://raind/container/01kg1kbxsq3wc2",)"
            R"("veth":"rd_01kg1kbxsq3x"},)"
            R"("icmp":{"type":8,"code":0,"seq":1},)"
            R"("rule_hint":"RAIND-EW-ALLOW,id=pol-c1-c2-icmp",)"
            R"("raw_hash":"0ccbb953a591db67682c36f9a4a989d6920892c8a1a446a150753373c1ce440c"})");
}

TEST(Enrich, EverySampleRecord) {
  auto lines = sample_lines();
  ASSERT_EQ(lines.size(), 7u);
  auto snapshot = sample_snapshot();
  std::vector<json> out;
  for (const auto& l : lines) out.push_back(enrich_json(l, snapshot));

  for (std::size_t i = 0; i < out.size(); ++i) {
    const json& r = out[i];
    EXPECT_EQ(r["event_type"], "log.netflow");
    EXPECT_EQ(r["received_ts"], "2026-11-22T18:04:24.800043049+09:00");
    EXPECT_EQ(r["raw_hash"], raind::sha256_hex(lines[i]));
    EXPECT_EQ(r["rule_hint"], json::parse(lines[i])["oob.prefix"]);
    EXPECT_FALSE(r.contains("unresolved")) << i;
    EXPECT_FALSE(r.contains("reason")) << i;
  }

  // 1: EW allow, TCP c1:39140 → c2:8080
  EXPECT_EQ(out[1]["generated_ts"], "2026-11-22T18:04:24.075438+09:00");
  EXPECT_EQ(out[1]["policy"], json({{"source", "user"}, {"id", "pol-c1-c2-web"}}));
  EXPECT_EQ(out[1]["kind"], "east-west");
  EXPECT_EQ(out[1]["verdict"], "allow");
  EXPECT_EQ(out[1]["proto"], "TCP");
  EXPECT_EQ(out[1]["src"], container("c1", 39140));
  EXPECT_EQ(out[1]["dst"], container("c2", 8080));
  EXPECT_FALSE(out[1].contains("icmp"));

  // 2: EW deny (id=default, a user id as far as the grammar goes), ICMP c2 → c1, seq from
  // ulogd's real key icmp.echoseq
  EXPECT_EQ(out[2]["policy"], json({{"source", "user"}, {"id", "default"}}));
  EXPECT_EQ(out[2]["verdict"], "deny");
  EXPECT_EQ(out[2]["proto"], "ICMP");
  EXPECT_EQ(out[2]["src"], container("c2"));
  EXPECT_EQ(out[2]["dst"], container("c1"));
  EXPECT_EQ(out[2]["icmp"], json({{"type", 8}, {"code", 0}, {"seq", 1}}));

  // 3: EW deny UDP c2:33058 → c1:5353
  EXPECT_EQ(out[3]["generated_ts"], "2026-11-22T18:04:25.153839+09:00");
  EXPECT_EQ(out[3]["proto"], "UDP");
  EXPECT_EQ(out[3]["src"], container("c2", 33058));
  EXPECT_EQ(out[3]["dst"], container("c1", 5353));

  // 4-6: the recorded NS prefix "RAIND-NS-OBS,id=observe" predates the grammar: unknown.
  for (int i : {4, 5, 6}) {
    EXPECT_EQ(out[i]["kind"], "unknown") << i;
    EXPECT_EQ(out[i]["verdict"], "unknown") << i;
    EXPECT_EQ(out[i]["policy"], json({{"source", "unknown"}})) << i;
    EXPECT_EQ(out[i]["dst"]["kind"], "external") << i;
    EXPECT_EQ(out[i]["dst"]["ip"], "198.51.100.2") << i;
  }
  EXPECT_EQ(out[4]["src"], container("c1", 41409));
  EXPECT_EQ(out[4]["dst"], json({{"kind", "external"}, {"ip", "198.51.100.2"}, {"port", 53}}));
  EXPECT_EQ(out[5]["dst"]["port"], 443);
  EXPECT_EQ(out[6]["proto"], "ICMP");
  EXPECT_EQ(out[6]["icmp"], json({{"type", 8}, {"code", 0}, {"seq", 1}}));
  EXPECT_FALSE(out[6]["dst"].contains("port"));

  auto r4 = fl::enrich(lines[4], snapshot, kReceived, kTokyo);
  ASSERT_TRUE(r4);
  EXPECT_FALSE(r4->prefix_well_formed);
}

TEST(Enrich, PredefinedAndHostGuard) {
  auto snapshot = sample_snapshot();
  auto r = enrich_json(
      R"({"oob.prefix":"RAIND-EW-DENY,id=predefined","oob.time.sec":1,"src_ip":"10.166.0.2",)"
      R"("dest_ip":"10.166.0.3","ip.protocol":6,"src_port":1,"dest_port":2})",
      snapshot);
  EXPECT_EQ(r["policy"], json({{"source", "predefined"}}));
  EXPECT_EQ(r["kind"], "east-west");
  EXPECT_EQ(r["verdict"], "deny");

  // Container → host guard: the gateway address is in the pool but is the host, not an
  // unmapped container.
  r = enrich_json(R"({"oob.prefix":"RAIND-EW-DENY,id=host","oob.time.sec":1,"src_ip":"10.166.0.2",)"
                  R"("dest_ip":"10.166.0.1","ip.protocol":17,"src_port":5000,"dest_port":22})",
                  snapshot);
  EXPECT_EQ(r["policy"], json({{"source", "predefined"}, {"id", "host"}}));
  EXPECT_EQ(r["dst"], json({{"kind", "host"}, {"ip", "10.166.0.1"}, {"port", 22}}));
  EXPECT_EQ(r["src"]["kind"], "container");
  EXPECT_FALSE(r.contains("unresolved"));
}

TEST(Enrich, UnresolvedExternalUnknown) {
  auto snapshot = sample_snapshot();
  auto r = enrich_json(
      R"({"oob.prefix":"RAIND-NS-DENY,id=01kg1kh5dbf2xv1e0n1ramytmt","oob.time.sec":1,)"
      R"("src_ip":"10.166.7.7","dest_ip":"10.166.8.8","ip.protocol":17,"src_port":1,"dest_port":53})",
      snapshot);
  EXPECT_EQ(r["src"], json({{"kind", "container_unresolved"}, {"ip", "10.166.7.7"}, {"port", 1}}));
  EXPECT_EQ(r["dst"], json({{"kind", "container_unresolved"}, {"ip", "10.166.8.8"}, {"port", 53}}));
  EXPECT_EQ(r["unresolved"], true);
  EXPECT_EQ(r["reason"], "src ip not mapped; dst ip not mapped");
  EXPECT_EQ(r["kind"], "north-south");

  r = enrich_json(
      R"({"oob.prefix":"RAIND-NS-ALLOW,id=predefined","oob.time.sec":1,"src_ip":"10.166.0.2",)"
      R"("dest_ip":"10.166.9.9","ip.protocol":1,"icmp.type":0,"icmp.code":0})",
      snapshot);
  EXPECT_EQ(r["reason"], "dst ip not mapped");
  EXPECT_EQ(r["icmp"], json({{"type", 0}, {"code", 0}}));

  // No addresses at all (a non-IP frame): unknown endpoints, UNKNOWN protocol, no icmp.
  r = enrich_json(R"({"oob.prefix":"RAIND-EW-DENY,id=predefined","oob.time.sec":1})", snapshot);
  EXPECT_EQ(r["src"], json({{"kind", "unknown"}}));
  EXPECT_EQ(r["dst"], json({{"kind", "unknown"}}));
  EXPECT_EQ(r["proto"], "UNKNOWN");
  EXPECT_FALSE(r.contains("unresolved"));

  // Outside every pool: external, even with an empty snapshot.
  r = enrich_json(R"({"oob.prefix":"RAIND-NS-DENY,id=x","oob.time.sec":1,"src_ip":"10.166.0.2",)"
                  R"("dest_ip":"8.8.8.8","ip.protocol":132})",
                  id::Snapshot());
  EXPECT_EQ(r["src"]["kind"], "external");
  EXPECT_EQ(r["dst"]["kind"], "external");
  EXPECT_EQ(r["proto"], "IPPROTO_132");
}

TEST(Enrich, Icmpv6AndProtocolNames) {
  auto r =
      enrich_json(R"({"oob.prefix":"RAIND-NS-DENY,id=x","oob.time.sec":1,"src_ip":"fd00::2",)"
                  R"("dest_ip":"2001:db8::1","ip6.nexthdr":58,"icmpv6.type":128,"icmpv6.code":0,)"
                  R"("icmpv6.echoseq":7})",
                  sample_snapshot());
  EXPECT_EQ(r["proto"], "ICMPV6");
  EXPECT_EQ(r["icmp"], json({{"type", 128}, {"code", 0}, {"seq", 7}}));
  EXPECT_EQ(r["src"]["kind"], "external");
  EXPECT_EQ(fl::proto_name(0), "UNKNOWN");
  EXPECT_EQ(fl::proto_name(6), "TCP");
  EXPECT_EQ(fl::proto_name(17), "UDP");
  EXPECT_EQ(fl::proto_name(47), "IPPROTO_47");
}

TEST(Enrich, GeneratedTsFromEpochFieldsNotUlogdTimestamp) {
  // ulogd's own timestamp (zone-less on UTC hosts) is ignored.
  auto r = enrich_json(R"({"timestamp":"garbage","oob.prefix":"RAIND-EW-DENY,id=predefined",)"
                       R"("oob.time.sec":1795338264,"oob.time.usec":594406})",
                       sample_snapshot());
  EXPECT_EQ(r["generated_ts"], "2026-11-22T18:04:24.594406+09:00");
  auto utc = fl::enrich(R"({"oob.prefix":"p","oob.time.sec":1795338264})", sample_snapshot(),
                        kReceived, fl::Zone::fixed(0s));
  ASSERT_TRUE(utc);
  EXPECT_EQ(json::parse(utc->line)["generated_ts"], "2026-11-22T09:04:24.000000+00:00");
}

TEST(Enrich, RawHashIsOfTheTrimmedLine) {
  auto lines = sample_lines();
  auto snapshot = sample_snapshot();
  auto a = fl::enrich(lines[4], snapshot, kReceived, kTokyo);
  auto b = fl::enrich("  " + lines[4] + "\r\n", snapshot, kReceived, kTokyo);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->line, b->line);
  EXPECT_EQ(json::parse(a->line)["raw_hash"],
            "ff6e71cbe1cf255f2103b259514cedf68177b290b6061a37956f0b3a120e1223");
}

TEST(Enrich, Rejections) {
  auto snapshot = sample_snapshot();
  auto reject = [&](std::string_view line) {
    auto r = fl::enrich(line, snapshot, kReceived, kTokyo);
    EXPECT_FALSE(r.has_value()) << line;
    return r ? fl::Rejection{} : r.error();
  };
  using R = fl::Rejection;
  EXPECT_EQ(reject(""), R::malformed_json);
  EXPECT_EQ(reject("   "), R::malformed_json);
  EXPECT_EQ(reject("{"), R::malformed_json);
  EXPECT_EQ(reject("not json"), R::malformed_json);
  EXPECT_EQ(reject(R"({"oob.prefix":"x","oob.time.sec":1} trailing)"), R::malformed_json);
  EXPECT_EQ(reject(R"({"oob.prefix":"x","oob.time.sec":1}{})"), R::malformed_json);
  EXPECT_EQ(reject("{\"oob.prefix\":\"\xff\",\"oob.time.sec\":1}"), R::malformed_json);
  EXPECT_EQ(reject("[1,2]"), R::not_object);
  EXPECT_EQ(reject("\"RAIND-EW-DENY,id=predefined\""), R::not_object);
  EXPECT_EQ(reject("42"), R::not_object);
  EXPECT_EQ(reject("null"), R::not_object);
  EXPECT_EQ(reject("{}"), R::missing_fields);
  EXPECT_EQ(reject(R"({"oob.prefix":"x"})"), R::missing_fields);
  EXPECT_EQ(reject(R"({"oob.time.sec":1})"), R::missing_fields);
  EXPECT_EQ(reject(R"({"oob.prefix":7,"oob.time.sec":1})"), R::missing_fields);
  EXPECT_EQ(reject(R"({"oob.prefix":"x","oob.time.sec":"1"})"), R::missing_fields);
  EXPECT_EQ(reject(R"({"oob.prefix":"x","oob.time.sec":-1})"), R::missing_fields);
  // Keys of interest nested deeper do not count.
  EXPECT_EQ(reject(R"({"n":{"oob.prefix":"x","oob.time.sec":1}})"), R::missing_fields);

  fl::EnrichOptions small{100};
  auto r = fl::enrich(std::string(101, ' '), snapshot, kReceived, kTokyo, small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), R::oversized);

  // enrich_into leaves the buffer alone on rejection and appends on success.
  std::string buffer = "keep";
  EXPECT_FALSE(fl::enrich_into(buffer, "[]", snapshot, kReceived, kTokyo));
  EXPECT_EQ(buffer, "keep");
  EXPECT_TRUE(fl::enrich_into(buffer, R"({"oob.prefix":"p","oob.time.sec":1})", snapshot, kReceived,
                              kTokyo));
  EXPECT_TRUE(buffer.starts_with("keep{\"generated_ts\""));
}

TEST(Enrich, HostileValuesStayInsideTheirStrings) {
  auto r = fl::enrich(
      R"({"oob.prefix":"RAIND-EW-ALLOW,id=x\"},\"kind\":\"evil\n\u0001\u00e9","oob.time.sec":1,)"
      R"("src_ip":"1.2.3.4\"x","src_port":70000,"dest_port":-5,"ip.protocol":1e3,)"
      R"("icmp.type":{"nested":[1,{"a":2}]},"extra":[{"oob.prefix":"y"}]})",
      sample_snapshot(), kReceived, kTokyo);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->prefix_well_formed);
  auto j = json::parse(r->line);
  EXPECT_EQ(j["rule_hint"], "RAIND-EW-ALLOW,id=x\"},\"kind\":\"evil\n\x01\xc3\xa9");
  EXPECT_EQ(j["kind"], "unknown");
  EXPECT_EQ(j["src"], json({{"kind", "external"}, {"ip", "1.2.3.4\"x"}}));  // port out of range
  EXPECT_FALSE(j["dst"].contains("port"));
  EXPECT_EQ(j["proto"], "UNKNOWN");
  EXPECT_FALSE(j.contains("icmp"));
}

TEST(Enrich, JsonStringEscaping) {
  std::string out;
  fl::append_json_string(out, std::string_view("a\"b\\c\n\t\x01\x7f\xc3\xa9\xff\xe2\x82", 14));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\t\\u0001\x7f\xc3\xa9\\ufffd\\ufffd\\ufffd\"");
  EXPECT_TRUE(json::accept(out));
}

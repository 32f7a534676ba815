#include <gtest/gtest.h>
#include <ldns/ldns.h>

#include "condenser/dnsproxy/cache.hpp"
#include "condenser/dnsproxy/message.hpp"
#include "condenser/dnsproxy/proxy.hpp"
#include "condenser/dnsproxy/query_log.hpp"
#include "dns_wire.hpp"

namespace raind::condenser::dnsproxy {
namespace {

using testing::query;
using testing::to_wire;

void add(ldns_pkt* p, ldns_pkt_section section, const char* rr_text) {
  ldns_rr* rr = nullptr;
  ASSERT_EQ(ldns_rr_new_frm_str(&rr, rr_text, 0, nullptr, nullptr), LDNS_STATUS_OK) << rr_text;
  ldns_pkt_push_rr(p, section, rr);
}

// An answer to `q` with the given rcode and records; EDNS with a DO bit when asked (its OPT
// "TTL" then carries flags, which must not count as a TTL).
Wire answer(const Wire& q, ldns_pkt_rcode rcode, std::vector<const char*> answers,
            std::vector<const char*> authority = {}, bool edns_do = false, bool tc = false) {
  ldns_pkt* p = nullptr;
  EXPECT_EQ(ldns_wire2pkt(&p, q.data(), q.size()), LDNS_STATUS_OK);
  ldns_pkt_set_qr(p, true);
  ldns_pkt_set_ra(p, true);
  ldns_pkt_set_tc(p, tc);
  ldns_pkt_set_rcode(p, static_cast<std::uint8_t>(rcode));
  for (auto a : answers) add(p, LDNS_SECTION_ANSWER, a);
  for (auto a : authority) add(p, LDNS_SECTION_AUTHORITY, a);
  if (edns_do) {
    ldns_pkt_set_edns_udp_size(p, 1232);
    ldns_pkt_set_edns_do(p, true);
  }
  return to_wire(p);
}

TEST(DnsMessage, ParsesAQueryAndItsCacheKey) {
  auto q = parse_query(query("WWW.Example.COM."));
  ASSERT_TRUE(q);
  EXPECT_EQ(q->id, 4242);
  EXPECT_TRUE(q->rd);
  EXPECT_EQ(q->name, "www.example.com.");
  EXPECT_EQ(q->type, "A");
  EXPECT_EQ(q->klass, "IN");
  EXPECT_EQ(q->cache_key(), "www.example.com.|1|1|do=0");
  auto signed_q = parse_query(query("www.example.com.", LDNS_RR_TYPE_AAAA, true));
  ASSERT_TRUE(signed_q);
  EXPECT_EQ(signed_q->cache_key(), "www.example.com.|28|1|do=1");
}

TEST(DnsMessage, RefusesWhatIsNotOneQuestion) {
  Wire tiny = {1, 2, 3};
  EXPECT_EQ(parse_query(tiny).error(), QueryProblem::too_short);
  Wire garbage(40, 0xff);
  garbage[2] = 0x01;  // a query header, then nonsense
  EXPECT_EQ(parse_query(garbage).error(), QueryProblem::malformed);
  Wire header_only(12, 0);
  EXPECT_EQ(parse_query(header_only).error(), QueryProblem::question_count);
  Wire response = query("a.test.");
  response[2] |= 0x80;  // QR: an answer sent to the proxy
  EXPECT_EQ(parse_query(response).error(), QueryProblem::not_a_query);
  // FORMERR keeps the id and sets QR; a header-only reply when the question is unreadable.
  auto formerr = error_reply(garbage, 1);
  ASSERT_GE(formerr.size(), 12u);
  EXPECT_EQ(formerr[0], garbage[0]);
  EXPECT_EQ(formerr[1], garbage[1]);
  EXPECT_TRUE(formerr[2] & 0x80);
  EXPECT_EQ(formerr[3] & 0x0f, 1);
  auto servfail = error_reply(query("a.test."), 2);
  auto parsed = parse_answer(servfail, *parse_query(query("a.test.")));
  ASSERT_TRUE(parsed) << parsed.error().what();
  EXPECT_EQ(parsed->rcode, "SERVFAIL");
}

TEST(DnsMessage, CacheTtlIsTheSmallestOfAnswerAndAuthorityNotTheOpt) {
  auto q = query("www.example.com.", LDNS_RR_TYPE_A, true);
  auto question = *parse_query(q);
  auto a = answer(
      q, LDNS_RCODE_NOERROR,
      {"www.example.com. 300 IN CNAME web.example.com.", "web.example.com. 120 IN A 192.0.2.7"},
      {"example.com. 900 IN NS ns.example.com."}, true);
  auto s = parse_answer(a, question);
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_EQ(s->answers, 2u);
  EXPECT_EQ(s->authority, 1u);
  EXPECT_EQ(s->rcode, "NOERROR");
  ASSERT_TRUE(s->cache_ttl);
  EXPECT_EQ(*s->cache_ttl, 120u);  // the DO bit in the OPT "TTL" (0x8000) does not count
}

TEST(DnsMessage, NegativeAnswersLiveForTheSoaNegativeTtl) {
  auto q = query("nosuch.example.com.");
  auto question = *parse_query(q);
  auto nx = answer(q, LDNS_RCODE_NXDOMAIN, {},
                   {"example.com. 3600 IN SOA ns.example.com. admin.example.com. 1 7200 900 "
                    "1209600 60"});
  auto s = parse_answer(nx, question);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->rcode, "NXDOMAIN");
  ASSERT_TRUE(s->cache_ttl);
  EXPECT_EQ(*s->cache_ttl, 60u);  // min(SOA TTL 3600, minimum 60)
  // NODATA counts too; without a SOA nothing is cached.
  auto nodata = answer(q, LDNS_RCODE_NOERROR, {},
                       {"example.com. 30 IN SOA ns.example.com. admin.example.com. 1 2 3 4 600"});
  EXPECT_EQ(parse_answer(nodata, question)->cache_ttl, std::optional<std::uint32_t>(30));
  EXPECT_FALSE(parse_answer(answer(q, LDNS_RCODE_NXDOMAIN, {}), question)->cache_ttl);
  EXPECT_FALSE(parse_answer(answer(q, LDNS_RCODE_SERVFAIL, {}), question)->cache_ttl);
  // Truncated: not cacheable (the TCP answer is what gets cached).
  auto tc =
      answer(q, LDNS_RCODE_NOERROR, {"nosuch.example.com. 60 IN A 192.0.2.1"}, {}, false, true);
  EXPECT_TRUE(parse_answer(tc, question)->truncated);
  EXPECT_FALSE(parse_answer(tc, question)->cache_ttl);
}

TEST(DnsMessage, AnswersThatDoNotMatchAreRejected) {
  auto q = query("a.example.");
  auto question = *parse_query(q);
  auto other_id = answer(query("a.example.", LDNS_RR_TYPE_A, false, 7), LDNS_RCODE_NOERROR, {});
  EXPECT_FALSE(parse_answer(other_id, question));
  auto other_name = answer(query("b.example."), LDNS_RCODE_NOERROR, {});
  EXPECT_FALSE(parse_answer(other_name, question));
  EXPECT_FALSE(parse_answer(q, question));  // a query, not an answer
  Wire junk(30, 0xab);
  EXPECT_FALSE(parse_answer(junk, question));
}

TEST(DnsMessage, CachedAnswersGetTheNewIdAndAgedTtls) {
  auto q = query("www.example.com.");
  auto cached = answer(q, LDNS_RCODE_NOERROR, {"www.example.com. 120 IN A 192.0.2.7"});
  auto fresh = refresh_cached(cached, 999, 100);
  ASSERT_TRUE(fresh);
  auto question = *parse_query(query("www.example.com.", LDNS_RR_TYPE_A, false, 999));
  auto s = parse_answer(*fresh, question);
  ASSERT_TRUE(s) << s.error().what();
  ldns_pkt* p = nullptr;
  ASSERT_EQ(ldns_wire2pkt(&p, fresh->data(), fresh->size()), LDNS_STATUS_OK);
  EXPECT_EQ(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 20u);
  ldns_pkt_free(p);
  auto expired_ttl = refresh_cached(cached, 1, 500);
  ASSERT_TRUE(expired_ttl);
  ASSERT_EQ(ldns_wire2pkt(&p, expired_ttl->data(), expired_ttl->size()), LDNS_STATUS_OK);
  EXPECT_EQ(ldns_rr_ttl(ldns_rr_list_rr(ldns_pkt_answer(p), 0)), 0u);
  ldns_pkt_free(p);
}

// The cache-hit path walks the wire itself: same result as the ldns round trip, OPT untouched.
TEST(DnsMessage, InPlaceRefreshMatchesTheParsedOne) {
  auto q = query("www.example.com.", LDNS_RR_TYPE_A, true);
  auto cached = answer(
      q, LDNS_RCODE_NOERROR,
      {"www.example.com. 300 IN CNAME web.example.com.", "web.example.com. 120 IN A 192.0.2.7"},
      {"example.com. 900 IN NS ns.example.com."}, true);
  Wire in_place = cached;
  ASSERT_TRUE(refresh_in_place(in_place, 999, 100));
  auto parsed = refresh_cached(cached, 999, 100);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(in_place, *parsed);
  Wire broken(cached.begin(), cached.begin() + 20);
  EXPECT_FALSE(refresh_in_place(broken, 1, 1));
}

TEST(DnsMessage, ServiceNameAnswerIsAuthoritative) {
  auto q = query("db.");
  auto question = *parse_query(q);
  auto reply = a_record_reply(q, question, "10.166.1.3", 5);
  ASSERT_TRUE(reply);
  auto s = parse_answer(*reply, question);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->answers, 1u);
  EXPECT_EQ(*s->cache_ttl, 5u);
}

TEST(DnsCache, LeastRecentlyUsedGoesFirstAndEntriesExpire) {
  AnswerCache cache(2, 3600);
  auto t0 = AnswerCache::Clock::time_point{} + std::chrono::hours(1);
  cache.store("a", Wire{1}, 60, t0);
  cache.store("b", Wire{2}, 60, t0);
  ASSERT_TRUE(cache.find("a", t0));   // a is now the most recent
  cache.store("c", Wire{3}, 60, t0);  // evicts b
  EXPECT_FALSE(cache.find("b", t0));
  EXPECT_TRUE(cache.find("a", t0));
  EXPECT_EQ(cache.evictions(), 1u);
  auto hit = cache.find("c", t0 + std::chrono::seconds(59));
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->age_seconds, 59u);
  EXPECT_EQ((*hit->wire)[0], 3);
  EXPECT_FALSE(cache.find("c", t0 + std::chrono::seconds(60)));
  EXPECT_EQ(cache.size(), 1u);
  // TTL 0 is not stored; TTLs are capped.
  cache.store("zero", Wire{4}, 0, t0);
  EXPECT_FALSE(cache.find("zero", t0));
  AnswerCache capped(10, 100);
  capped.store("long", Wire{5}, 86400, t0);
  EXPECT_TRUE(capped.find("long", t0 + std::chrono::seconds(99)));
  EXPECT_FALSE(capped.find("long", t0 + std::chrono::seconds(100)));
  AnswerCache disabled(0);
  disabled.store("a", Wire{1}, 60, t0);
  EXPECT_FALSE(disabled.find("a", t0));
}

TEST(DnsConfig, UpstreamsAndResolvConf) {
  EXPECT_EQ(parse_upstream("192.0.2.1")->str(), "192.0.2.1:53");
  EXPECT_EQ(parse_upstream("192.0.2.1:5353")->port, 5353);
  EXPECT_FALSE(parse_upstream("resolver.example"));
  EXPECT_FALSE(parse_upstream("192.0.2.1:0"));
  EXPECT_FALSE(parse_upstream("192.0.2.1:70000"));
  EXPECT_EQ(
      nameservers_from_resolv_conf("# comment\nsearch example.com\nnameserver 127.0.0.53\n"
                                   "nameserver fd00::1\nnameserver 192.0.2.9\noptions edns0\n"),
      (std::vector<std::string>{"127.0.0.53", "192.0.2.9"}));
  EXPECT_TRUE(nameservers_from_resolv_conf("").empty());
}

TEST(DnsLog, RecordNamesTheContainerOrSaysUnresolved) {
  identity::Snapshot snapshot(
      {{"abc", "web", "spiffe://raind/container/abc", "rd_abc", "10.166.0.2", ""}}, {});
  QueryOutcome o;
  o.client_ip = "10.166.0.2";
  o.client_port = 40000;
  o.transport = "udp";
  o.question = *parse_query(query("svc1.raind.test."));
  o.answer = AnswerSummary{4242, "NOERROR", 0, 1, 0, 0, false, {}};
  o.upstream_server = "198.51.100.2:53";
  o.upstream_transport = "udp";
  o.latency_ms = 1.5;
  o.note = "hit=false";
  auto r = query_record(o, snapshot, std::chrono::system_clock::now());
  EXPECT_EQ(r["event_type"], "log.traffic");
  EXPECT_EQ(r["src"]["container_name"], "web");
  EXPECT_EQ(r["src"]["veth"], "rd_abc");
  EXPECT_EQ(r["dns"]["question"]["name"], "svc1.raind.test.");
  EXPECT_EQ(r["dns"]["response"]["rcode"], "NOERROR");
  EXPECT_EQ(r["upstream"]["server"], "198.51.100.2:53");
  EXPECT_FALSE(r["cache"]["hit"].get<bool>());
  EXPECT_EQ(r["query_result"], "ok");
  o.client_ip = "10.166.0.99";
  o.ok = false;
  o.question->name = "we\"ird\\name.";  // escaped, still one valid JSON line
  r = query_record(o, snapshot, std::chrono::system_clock::now());
  EXPECT_EQ(r["dns"]["question"]["name"], "we\"ird\\name.");
  EXPECT_EQ(r["src"]["container_id"], "unresolved");
  EXPECT_EQ(r["query_result"], "fail");
}

}  // namespace
}  // namespace raind::condenser::dnsproxy

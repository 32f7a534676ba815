// DNS wire messages from arbitrary bytes, through everything the proxy does with them: the
// input as a query (and the proxy's FORMERR/SERVFAIL and service-name replies to it), as an
// upstream's answer to itself read as a query, and as a cached answer refreshed both ways.
//
// Invariants: error replies are header-complete answers (QR set) with the asked rcode; a
// service-name reply is an answer to the query with a 60 s TTL; whenever ldns can parse a
// cached answer, the in-place refresh walks it too and both refreshes agree on id and TTLs.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "condenser/dnsproxy/message.hpp"
#include "fuzz_check.hpp"
// Last: ldns's headers define macros that break libstdc++ headers included after them.
#include <ldns/ldns.h>

namespace dns = raind::condenser::dnsproxy;

namespace {

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

Pkt parse(const dns::Wire& wire) {
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, wire.data(), wire.size()) != LDNS_STATUS_OK) return nullptr;
  return Pkt(p);
}

// TTLs of the answer and authority records. An OPT record there (misplaced: it belongs in the
// additional section) is skipped: its "TTL" is EDNS flags, which ldns ages and the walker keeps.
std::vector<std::uint32_t> ttls(const ldns_pkt* p) {
  std::vector<std::uint32_t> out;
  for (const ldns_rr_list* list : {ldns_pkt_answer(p), ldns_pkt_authority(p)}) {
    for (std::size_t i = 0; list && i < ldns_rr_list_rr_count(list); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(list, i);
      if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_OPT) out.push_back(ldns_rr_ttl(rr));
    }
  }
  return out;
}

// Whether the header's counts are the records the message holds. ldns renders some inputs it
// accepted with stale counts (e.g. an all-zero OPT record it drops but still counts), and then
// the in-place walk rightly runs off the end.
bool counts_match(const ldns_pkt* p) {
  auto n = [](const ldns_rr_list* list) { return list ? ldns_rr_list_rr_count(list) : 0; };
  return n(ldns_pkt_question(p)) == ldns_pkt_qdcount(p) &&
         n(ldns_pkt_answer(p)) == ldns_pkt_ancount(p) &&
         n(ldns_pkt_authority(p)) == ldns_pkt_nscount(p) &&
         n(ldns_pkt_additional(p)) == ldns_pkt_arcount(p);
}

void check_query_replies(std::span<const std::uint8_t> wire) {
  auto question = dns::parse_query(wire);
  if (!question) {
    (void)dns::problem_text(question.error());
    if (question.error() == dns::QueryProblem::too_short) return;
  } else {
    RAIND_FUZZ_CHECK(!question->name.empty());
    (void)question->cache_key();
    auto reply = dns::a_record_reply(wire, *question, "10.166.0.2", 60);
    if (reply) {
      auto answer = dns::parse_answer(*reply, *question);
      RAIND_FUZZ_CHECK(answer.has_value());
      RAIND_FUZZ_CHECK(answer->answers >= 1 && answer->rcode_code == 0);
    }
  }
  for (unsigned rcode : {1u, 2u}) {
    dns::Wire reply = dns::error_reply(wire, rcode);
    RAIND_FUZZ_CHECK(reply.size() >= 12);
    RAIND_FUZZ_CHECK((reply[2] & 0x80) != 0 && (reply[3] & 0x0f) == rcode);
    RAIND_FUZZ_CHECK(reply[0] == wire[0] && reply[1] == wire[1]);
  }
}

// The input as an answer to the question it carries itself.
void check_as_answer(std::span<const std::uint8_t> wire) {
  if (wire.size() < 12) return;
  dns::Wire as_query(wire.begin(), wire.end());
  as_query[2] &= 0x07;  // QR off, opcode QUERY, AA/TC off
  auto question = dns::parse_query(as_query);
  if (!question) return;
  dns::Wire as_answer(wire.begin(), wire.end());
  as_answer[2] |= 0x80;
  auto summary = dns::parse_answer(as_answer, *question);
  if (!summary) return;
  RAIND_FUZZ_CHECK(summary->id == question->id);
  (void)dns::rcode_name(summary->rcode_code);
}

void check_refresh(std::span<const std::uint8_t> wire) {
  const dns::Wire cached(wire.begin(), wire.end());
  for (std::uint32_t age : {0u, 30u, 0xffffffffu}) {
    dns::Wire in_place = cached;
    if (!dns::refresh_in_place(in_place, 0xbeef, age)) RAIND_FUZZ_CHECK(in_place == cached);
  }
  // ldns's own rendering of the message is RDLENGTH-consistent: there the walker must find
  // exactly the records ldns finds (when the counts are right, see counts_match). (On the raw input
  // ldns is laxer, e.g. about an RDLENGTH longer than the record's fields, and the two may read
  // different records; the walker then follows RDLENGTH as a client would.)
  auto canonical = dns::refresh_cached(cached, 0x1111, 0);
  if (!canonical) return;
  Pkt reread = parse(*canonical);
  RAIND_FUZZ_CHECK(reread != nullptr);
  for (std::uint32_t age : {0u, 30u, 0xffffffffu}) {
    auto rebuilt = dns::refresh_cached(*canonical, 0xbeef, age);
    RAIND_FUZZ_CHECK(rebuilt.has_value());
    dns::Wire in_place = *canonical;
    const bool walked = dns::refresh_in_place(in_place, 0xbeef, age);
    if (!counts_match(reread.get())) continue;
    RAIND_FUZZ_CHECK(walked);
    Pkt a = parse(*rebuilt);
    Pkt b = parse(in_place);
    RAIND_FUZZ_CHECK(a && b);
    RAIND_FUZZ_CHECK(ldns_pkt_id(a.get()) == 0xbeef && ldns_pkt_id(b.get()) == 0xbeef);
    RAIND_FUZZ_CHECK(ttls(a.get()) == ttls(b.get()));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::span<const std::uint8_t> wire(data, size);
  check_query_replies(wire);
  check_as_answer(wire);
  check_refresh(wire);
  return 0;
}

#pragma once
// DNS messages for the proxy, parsed with ldns: what a query asks, what an answer says, how long
// it may be cached, and the replies the proxy makes itself (FORMERR, SERVFAIL, a bottle's
// service names). Pure functions over wire bytes, so they are unit-tested without sockets.
#include <cstdint>
#include <expected>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "raind/error.hpp"

namespace raind::condenser::dnsproxy {

using Wire = std::vector<std::uint8_t>;

struct Question {
  std::uint16_t id = 0;
  bool rd = false;
  bool dnssec_ok = false;  // EDNS DO bit
  std::string name;        // lower case, with the final dot ("example.com.")
  std::string type;        // "A", "AAAA", "TYPE65534"…
  std::string klass;       // "IN"
  std::uint16_t type_code = 0;
  std::uint16_t class_code = 0;
  // The cache key: name|type|class|do=0/1.
  std::string cache_key() const;
};

struct AnswerSummary {
  std::uint16_t id = 0;
  std::string rcode;  // NOERROR, NXDOMAIN, SERVFAIL…
  unsigned rcode_code = 0;
  unsigned answers = 0, authority = 0, additional = 0;
  bool truncated = false;
  // Seconds the answer may be kept: the smallest TTL of its answer and authority records (the
  // OPT pseudo-record does not count: its "TTL" carries EDNS flags); for NXDOMAIN and NODATA the
  // SOA's negative TTL, min(SOA TTL, SOA minimum). None: not cacheable.
  std::optional<std::uint32_t> cache_ttl;
};

enum class QueryProblem { too_short, malformed, not_a_query, question_count };
std::string_view problem_text(QueryProblem problem);

// A query the proxy can answer or forward; otherwise why not. A readable header is enough for
// a FORMERR (too_short means not even that: the packet is dropped).
std::expected<Question, QueryProblem> parse_query(std::span<const std::uint8_t> wire);

// Parses an upstream's answer; errors for what is not a DNS response to `question`.
Result<AnswerSummary> parse_answer(std::span<const std::uint8_t> wire, const Question& question);

std::string_view rcode_name(unsigned rcode);

// A header-only reply to the query in `wire` (its id and flags kept, QR and RA set, the question
// echoed when it could be parsed), with `rcode` (1 FORMERR, 2 SERVFAIL).
Wire error_reply(std::span<const std::uint8_t> query, unsigned rcode);
// An authoritative answer with one A record.
Result<Wire> a_record_reply(std::span<const std::uint8_t> query, const Question& question,
                            const std::string& ipv4, std::uint32_t ttl);
// A cached answer made current: the query's id, TTLs reduced by `age` (at least 0).
Result<Wire> refresh_cached(std::span<const std::uint8_t> cached, std::uint16_t id,
                            std::uint32_t age_seconds);
// The same in place, walking the wire format without building a packet (the cache-hit path);
// the OPT record's "TTL" (EDNS flags) is left alone. False when the message does not walk.
bool refresh_in_place(Wire& wire, std::uint16_t id, std::uint32_t age_seconds);

}  // namespace raind::condenser::dnsproxy

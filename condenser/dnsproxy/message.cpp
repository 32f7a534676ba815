#include "condenser/dnsproxy/message.hpp"

#include <ldns/ldns.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

namespace raind::condenser::dnsproxy {
namespace {

struct PktFree {
  void operator()(ldns_pkt* p) const { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

struct MallocFree {
  void operator()(void* p) const { std::free(p); }
};

std::string owned(char* text) {
  std::unique_ptr<char, MallocFree> guard(text);
  return text ? std::string(text) : std::string();
}

// ldns_wire2pkt keeps only the last TSIG record it reads and leaks the ones before
// (NLnetLabs/ldns#317): any container could grow condenserd's memory with each query. A message
// carries at most one TSIG, as its last record (RFC 8945), so a second one makes it malformed.
// The records are read with ldns_wire2rr exactly as ldns_wire2pkt reads them (a TSIG lowers
// the additional count it loops to), so both see the same records.
bool several_tsig(std::span<const std::uint8_t> wire) {
  if (wire.size() < LDNS_HEADER_SIZE) return false;
  // Cheap filter first: every TSIG record has its type (00 fa) somewhere in the message.
  int type_bytes = 0;
  for (std::size_t i = 0; i + 1 < wire.size() && type_bytes < 2; ++i)
    type_bytes += wire[i] == 0x00 && wire[i + 1] == LDNS_RR_TYPE_TSIG;
  if (type_bytes < 2) return false;
  auto count = [&](std::size_t at) { return std::size_t{wire[at]} << 8 | wire[at + 1]; };
  const std::size_t questions = count(4), before_additional = questions + count(6) + count(8);
  std::size_t additional = count(10);
  std::size_t pos = LDNS_HEADER_SIZE;
  int tsig = 0;
  for (std::size_t i = 0; i < before_additional + additional; ++i) {
    ldns_rr* rr = nullptr;
    auto section = i < questions ? LDNS_SECTION_QUESTION : LDNS_SECTION_ANSWER;
    if (ldns_wire2rr(&rr, wire.data(), wire.size(), &pos, section) != LDNS_STATUS_OK) break;
    const bool is_tsig = i >= before_additional && ldns_rr_get_type(rr) == LDNS_RR_TYPE_TSIG;
    ldns_rr_free(rr);
    if (is_tsig && ++tsig > 1) return true;
    if (is_tsig) --additional;
  }
  return false;
}

Pkt parse(std::span<const std::uint8_t> wire) {
  if (several_tsig(wire)) return nullptr;
  ldns_pkt* p = nullptr;
  if (ldns_wire2pkt(&p, wire.data(), wire.size()) != LDNS_STATUS_OK) return nullptr;
  return Pkt(p);
}

Result<Wire> serialize(const ldns_pkt* p) {
  std::uint8_t* out = nullptr;
  std::size_t size = 0;
  if (ldns_pkt2wire(&out, p, &size) != LDNS_STATUS_OK)
    return fail(Errc::internal, "DNS: cannot serialise a reply");
  std::unique_ptr<std::uint8_t, MallocFree> guard(out);
  return Wire(out, out + size);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

void for_each_rr(const ldns_rr_list* list, const auto& fn) {
  if (!list) return;
  for (std::size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) fn(ldns_rr_list_rr(list, i));
}

}  // namespace

std::string Question::cache_key() const {
  return name + "|" + std::to_string(type_code) + "|" + std::to_string(class_code) +
         (dnssec_ok ? "|do=1" : "|do=0");
}

std::string_view problem_text(QueryProblem problem) {
  switch (problem) {
    case QueryProblem::too_short:
      return "shorter than a DNS header";
    case QueryProblem::malformed:
      return "not a well-formed DNS message";
    case QueryProblem::not_a_query:
      return "not a standard query";
    case QueryProblem::question_count:
      return "not exactly one question";
  }
  return "malformed";
}

std::string_view rcode_name(unsigned rcode) {
  static constexpr std::string_view kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                                "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                                "NXRRSET", "NOTAUTH", "NOTZONE"};
  return rcode < std::size(kNames) ? kNames[rcode] : "RCODE";
}

std::expected<Question, QueryProblem> parse_query(std::span<const std::uint8_t> wire) {
  if (wire.size() < LDNS_HEADER_SIZE) return std::unexpected(QueryProblem::too_short);
  // QR set, or an opcode other than QUERY: not something to answer.
  if ((wire[2] & 0x80) || ((wire[2] >> 3) & 0x0f) != 0)
    return std::unexpected(QueryProblem::not_a_query);
  auto p = parse(wire);
  if (!p) return std::unexpected(QueryProblem::malformed);
  if (ldns_pkt_qdcount(p.get()) != 1) return std::unexpected(QueryProblem::question_count);
  const ldns_rr* q = ldns_rr_list_rr(ldns_pkt_question(p.get()), 0);
  if (!q) return std::unexpected(QueryProblem::malformed);
  Question out;
  out.id = ldns_pkt_id(p.get());
  out.rd = ldns_pkt_rd(p.get());
  out.dnssec_ok = ldns_pkt_edns_do(p.get());
  out.name = lower(owned(ldns_rdf2str(ldns_rr_owner(q))));
  out.type_code = static_cast<std::uint16_t>(ldns_rr_get_type(q));
  out.class_code = static_cast<std::uint16_t>(ldns_rr_get_class(q));
  out.type = owned(ldns_rr_type2str(ldns_rr_get_type(q)));
  out.klass = owned(ldns_rr_class2str(ldns_rr_get_class(q)));
  if (out.name.empty()) return std::unexpected(QueryProblem::malformed);
  return out;
}

Result<AnswerSummary> parse_answer(std::span<const std::uint8_t> wire, const Question& question) {
  auto p = parse(wire);
  if (!p) return fail(Errc::parse, "the upstream's answer is not a DNS message");
  if (!ldns_pkt_qr(p.get())) return fail(Errc::parse, "the upstream sent a query, not an answer");
  if (ldns_pkt_id(p.get()) != question.id)
    return fail(Errc::parse, "the upstream's answer has another id");
  const ldns_rr* q = ldns_rr_list_rr(ldns_pkt_question(p.get()), 0);
  if (ldns_pkt_qdcount(p.get()) == 1 && q &&
      (lower(owned(ldns_rdf2str(ldns_rr_owner(q)))) != question.name ||
       ldns_rr_get_type(q) != question.type_code))
    return fail(Errc::parse, "the upstream answered another question");
  AnswerSummary s;
  s.id = ldns_pkt_id(p.get());
  s.rcode_code = ldns_pkt_get_rcode(p.get());
  s.rcode = std::string(rcode_name(s.rcode_code));
  s.answers = ldns_pkt_ancount(p.get());
  s.authority = ldns_pkt_nscount(p.get());
  s.additional = ldns_pkt_arcount(p.get());
  s.truncated = ldns_pkt_tc(p.get());
  if (s.truncated) return s;
  if (s.rcode_code == LDNS_RCODE_NOERROR && s.answers > 0) {
    std::optional<std::uint32_t> ttl;
    auto take = [&](const ldns_rr* rr) {
      std::uint32_t t = ldns_rr_ttl(rr);
      ttl = ttl ? std::min(*ttl, t) : t;
    };
    for_each_rr(ldns_pkt_answer(p.get()), take);
    for_each_rr(ldns_pkt_authority(p.get()), take);
    s.cache_ttl = ttl;
  } else if (s.rcode_code == LDNS_RCODE_NXDOMAIN ||
             (s.rcode_code == LDNS_RCODE_NOERROR && s.answers == 0)) {
    // RFC 2308: the SOA in the authority section bounds the negative answer's life.
    for_each_rr(ldns_pkt_authority(p.get()), [&](const ldns_rr* rr) {
      if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA || ldns_rr_rd_count(rr) < 7) return;
      std::uint32_t minimum = ldns_rdf2native_int32(ldns_rr_rdf(rr, 6));
      s.cache_ttl = std::min(ldns_rr_ttl(rr), minimum);
    });
  }
  return s;
}

Wire error_reply(std::span<const std::uint8_t> query, unsigned rcode) {
  // The question is echoed only when the query parses; otherwise a bare header.
  if (auto p = parse(query); p && ldns_pkt_qdcount(p.get()) <= 1) {
    ldns_pkt_set_qr(p.get(), true);
    ldns_pkt_set_ra(p.get(), true);
    ldns_pkt_set_aa(p.get(), false);
    ldns_pkt_set_rcode(p.get(), static_cast<std::uint8_t>(rcode));
    ldns_rr_list_deep_free(ldns_pkt_answer(p.get()));
    ldns_pkt_set_answer(p.get(), ldns_rr_list_new());
    ldns_rr_list_deep_free(ldns_pkt_authority(p.get()));
    ldns_pkt_set_authority(p.get(), ldns_rr_list_new());
    ldns_rr_list_deep_free(ldns_pkt_additional(p.get()));
    ldns_pkt_set_additional(p.get(), ldns_rr_list_new());
    ldns_pkt_set_ancount(p.get(), 0);
    ldns_pkt_set_nscount(p.get(), 0);
    ldns_pkt_set_arcount(p.get(), 0);
    if (auto w = serialize(p.get())) return *w;
  }
  Wire out(LDNS_HEADER_SIZE, 0);
  std::copy_n(query.begin(), std::min<std::size_t>(query.size(), 3), out.begin());
  out[2] = static_cast<std::uint8_t>((out[2] | 0x80) & ~0x06);  // QR; AA and TC off
  out[3] = static_cast<std::uint8_t>(0x80 | (rcode & 0x0f));    // RA + rcode
  return out;
}

Result<Wire> a_record_reply(std::span<const std::uint8_t> query, const Question& question,
                            const std::string& ipv4, std::uint32_t ttl) {
  auto p = parse(query);
  if (!p) return fail(Errc::parse, "query does not parse");
  ldns_rr* rr = nullptr;
  std::string text = question.name + " " + std::to_string(ttl) + " IN A " + ipv4;
  if (ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr) != LDNS_STATUS_OK)
    return failf(Errc::internal, "DNS: cannot build the record '{}'", text);
  ldns_pkt_set_qr(p.get(), true);
  ldns_pkt_set_aa(p.get(), true);
  ldns_pkt_set_ra(p.get(), true);
  ldns_pkt_set_rcode(p.get(), LDNS_RCODE_NOERROR);
  ldns_pkt_push_rr(p.get(), LDNS_SECTION_ANSWER, rr);
  return serialize(p.get());
}

Result<Wire> refresh_cached(std::span<const std::uint8_t> cached, std::uint16_t id,
                            std::uint32_t age_seconds) {
  auto p = parse(cached);
  if (!p) return fail(Errc::internal, "DNS: a cached answer does not parse");
  ldns_pkt_set_id(p.get(), id);
  auto age = [&](ldns_rr* rr) {
    std::uint32_t t = ldns_rr_ttl(rr);
    ldns_rr_set_ttl(rr, t > age_seconds ? t - age_seconds : 0);
  };
  for_each_rr(ldns_pkt_answer(p.get()), age);
  for_each_rr(ldns_pkt_authority(p.get()), age);
  for_each_rr(ldns_pkt_additional(p.get()), age);
  return serialize(p.get());
}

namespace {

// Skips a (possibly compressed) domain name at `at`; false when it runs off the end.
bool skip_name(const Wire& w, std::size_t& at) {
  for (int labels = 0; labels < 128; ++labels) {
    if (at >= w.size()) return false;
    std::uint8_t len = w[at];
    if ((len & 0xc0) == 0xc0) {
      at += 2;
      return at <= w.size();
    }
    if (len & 0xc0) return false;
    at += 1 + len;
    if (len == 0) return true;
  }
  return false;
}

std::uint16_t u16(const Wire& w, std::size_t at) {
  return static_cast<std::uint16_t>((w[at] << 8) | w[at + 1]);
}

}  // namespace

bool refresh_in_place(Wire& wire, std::uint16_t id, std::uint32_t age_seconds) {
  if (wire.size() < LDNS_HEADER_SIZE) return false;
  const unsigned questions = u16(wire, 4);
  const unsigned records = u16(wire, 6) + u16(wire, 8) + u16(wire, 10);
  std::size_t at = LDNS_HEADER_SIZE;
  for (unsigned i = 0; i < questions; ++i) {
    if (!skip_name(wire, at)) return false;
    at += 4;
  }
  std::vector<std::size_t> ttl_at;
  for (unsigned i = 0; i < records; ++i) {
    if (!skip_name(wire, at) || at + 10 > wire.size()) return false;
    const std::uint16_t type = u16(wire, at);
    if (type != LDNS_RR_TYPE_OPT) ttl_at.push_back(at + 4);
    at += 10 + u16(wire, at + 8);
    if (at > wire.size()) return false;
  }
  wire[0] = static_cast<std::uint8_t>(id >> 8);
  wire[1] = static_cast<std::uint8_t>(id & 0xff);
  for (std::size_t p : ttl_at) {
    std::uint32_t ttl = (std::uint32_t{wire[p]} << 24) | (std::uint32_t{wire[p + 1]} << 16) |
                        (std::uint32_t{wire[p + 2]} << 8) | wire[p + 3];
    ttl = ttl > age_seconds ? ttl - age_seconds : 0;
    wire[p] = static_cast<std::uint8_t>(ttl >> 24);
    wire[p + 1] = static_cast<std::uint8_t>(ttl >> 16);
    wire[p + 2] = static_cast<std::uint8_t>(ttl >> 8);
    wire[p + 3] = static_cast<std::uint8_t>(ttl);
  }
  return true;
}

}  // namespace raind::condenser::dnsproxy

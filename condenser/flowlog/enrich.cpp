#include "condenser/flowlog/enrich.hpp"

#include <charconv>
#include <cstdint>
#include <optional>

#include "condenser/flowlog/json_scan.hpp"
#include "condenser/flowlog/prefix.hpp"
#include "raind/digest.hpp"

namespace raind::condenser::flowlog {
namespace {

// The keys the enricher reads (ulogd's JSON plugin names, PLATFORM.md §2).
enum class Key {
  none,
  prefix,
  time_sec,
  time_usec,
  ip_protocol,
  ip6_nexthdr,
  src_ip,
  dest_ip,
  src_port,
  dest_port,
  icmp_type,
  icmp_code,
  icmp_seq,
};

Key key_of(std::string_view k) {
  // Dispatch on the first character keeps the ~50 uninteresting keys cheap.
  switch (k.empty() ? '\0' : k[0]) {
    case 'o':
      if (k == "oob.prefix") return Key::prefix;
      if (k == "oob.time.sec") return Key::time_sec;
      if (k == "oob.time.usec") return Key::time_usec;
      break;
    case 'i':
      if (k == "ip.protocol") return Key::ip_protocol;
      if (k == "ip6.nexthdr") return Key::ip6_nexthdr;
      if (k == "icmp.type" || k == "icmpv6.type") return Key::icmp_type;
      if (k == "icmp.code" || k == "icmpv6.code") return Key::icmp_code;
      if (k == "icmp.echoseq" || k == "icmpv6.echoseq") return Key::icmp_seq;
      break;
    case 's':
      if (k == "src_ip") return Key::src_ip;
      if (k == "src_port") return Key::src_port;
      break;
    case 'd':
      if (k == "dest_ip") return Key::dest_ip;
      if (k == "dest_port") return Key::dest_port;
      break;
    default:
      break;
  }
  return Key::none;
}

struct Fields {
  std::optional<std::string> prefix;  // copied: the scanner may decode into scratch
  std::optional<std::uint64_t> time_sec;
  std::optional<std::uint64_t> time_usec;
  std::optional<std::uint64_t> protocol;
  std::optional<std::string> src_ip;
  std::optional<std::string> dest_ip;
  std::optional<std::uint64_t> src_port;
  std::optional<std::uint64_t> dest_port;
  std::optional<std::uint64_t> icmp_type;
  std::optional<std::uint64_t> icmp_code;
  std::optional<std::uint64_t> icmp_seq;
};

// Keeps the top-level members the enricher reads; a value of the wrong type counts as absent.
void collect(Fields& f, const JsonMember& m) {
  Key key = key_of(m.key);
  if (key == Key::none) return;
  if (m.type == JsonType::string) {
    switch (key) {
      case Key::prefix:
        f.prefix = m.value;
        break;
      case Key::src_ip:
        f.src_ip = m.value;
        break;
      case Key::dest_ip:
        f.dest_ip = m.value;
        break;
      default:
        break;
    }
    return;
  }
  if (m.type != JsonType::number) return;
  std::uint64_t v = 0;
  auto [end, ec] = std::from_chars(m.value.data(), m.value.data() + m.value.size(), v);
  if (ec != std::errc() || end != m.value.data() + m.value.size()) return;  // negative/fraction
  switch (key) {
    case Key::time_sec:
      f.time_sec = v;
      break;
    case Key::time_usec:
      f.time_usec = v;
      break;
    case Key::ip_protocol:
    case Key::ip6_nexthdr:
      f.protocol = v;
      break;
    case Key::src_port:
      if (v <= 65535) f.src_port = v;
      break;
    case Key::dest_port:
      if (v <= 65535) f.dest_port = v;
      break;
    case Key::icmp_type:
      f.icmp_type = v;
      break;
    case Key::icmp_code:
      f.icmp_code = v;
      break;
    case Key::icmp_seq:
      f.icmp_seq = v;
      break;
    default:
      break;
  }
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  (void)ec;
  out.append(buf, end);
}

std::string_view trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

// Length of a valid UTF-8 sequence starting at s[i], or 0.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t n;
  std::uint32_t cp;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return n;
}

enum class Side { src, dst };

void append_endpoint(std::string& out, Side side, const std::optional<std::string>& ip,
                     const std::optional<std::uint64_t>& port, const identity::Snapshot& snapshot,
                     bool host_guard, std::string& reason) {
  auto put_ip_port = [&] {
    if (ip && !ip->empty()) {
      out += ",\"ip\":";
      append_json_string(out, *ip);
    }
    if (port) {
      out += ",\"port\":";
      append_uint(out, *port);
    }
  };
  auto put_opt = [&](std::string_view name, const std::string& value) {
    if (value.empty()) return;
    out += ",\"";
    out += name;
    out += "\":";
    append_json_string(out, value);
  };
  if (!ip || ip->empty()) {
    out += "{\"kind\":\"unknown\"";
    put_ip_port();
    out += '}';
    return;
  }
  if (const auto* c = snapshot.by_ip(*ip)) {
    out += "{\"kind\":\"container\"";
    put_ip_port();
    put_opt("container_id", c->id);
    put_opt("container_name", c->name);
    put_opt("spiffe_id", c->spiffe_id);
    put_opt("veth", c->veth);
    out += '}';
    return;
  }
  if (host_guard && side == Side::dst) {
    out += "{\"kind\":\"host\"";
  } else if (snapshot.in_container_networks(*ip)) {
    out += "{\"kind\":\"container_unresolved\"";
    if (!reason.empty()) reason += "; ";
    reason += side == Side::src ? "src ip not mapped" : "dst ip not mapped";
  } else {
    out += "{\"kind\":\"external\"";
  }
  put_ip_port();
  out += '}';
}

}  // namespace

std::string_view to_string(Rejection rejection) noexcept {
  switch (rejection) {
    case Rejection::oversized:
      return "oversized";
    case Rejection::malformed_json:
      return "malformed_json";
    case Rejection::not_object:
      return "not_object";
    case Rejection::missing_fields:
      return "missing_fields";
  }
  return "unknown";
}

std::string proto_name(unsigned protocol) {
  switch (protocol) {
    case 0:
      return "UNKNOWN";
    case 1:
      return "ICMP";
    case 6:
      return "TCP";
    case 17:
      return "UDP";
    case 58:
      return "ICMPV6";
    default:
      return "IPPROTO_" + std::to_string(protocol);
  }
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run = 0;  // start of the pending run of bytes copied verbatim
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      if (std::size_t n = utf8_sequence(text, i)) {
        i += n;
        continue;
      }
    }
    out.append(text.data() + run, i - run);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c >= 0x80) {
          out += "\\ufffd";  // an invalid UTF-8 byte
        } else {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        }
        break;
    }
    ++i;
    run = i;
  }
  out.append(text.data() + run, text.size() - run);
  out.push_back('"');
}

std::expected<EnrichResult, Rejection> enrich_into(std::string& out, std::string_view ulogd_line,
                                                   const identity::Snapshot& snapshot,
                                                   std::chrono::system_clock::time_point received,
                                                   const Zone& zone, const EnrichOptions& options) {
  if (ulogd_line.size() > options.max_line) return std::unexpected(Rejection::oversized);
  std::string_view raw = trim(ulogd_line);
  if (raw.empty()) return std::unexpected(Rejection::malformed_json);

  Fields f;
  ScanStatus scanned = scan_json_object(raw, [&](const JsonMember& m) { collect(f, m); });
  if (scanned == ScanStatus::malformed) return std::unexpected(Rejection::malformed_json);
  if (scanned == ScanStatus::not_object) return std::unexpected(Rejection::not_object);
  if (!f.prefix || !f.time_sec) return std::unexpected(Rejection::missing_fields);

  PrefixInfo info = classify_prefix(*f.prefix);
  const std::size_t start = out.size();
  out.reserve(start + 640);

  out += "{\"generated_ts\":\"";
  std::uint64_t usec = f.time_usec.value_or(0);
  if (usec > 999999) usec = 999999;
  append_rfc3339(out, static_cast<std::int64_t>(*f.time_sec), static_cast<std::uint32_t>(usec), 6,
                 zone);
  out += "\",\"received_ts\":\"";
  auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(received.time_since_epoch()).count();
  if (ns < 0) ns = 0;
  append_rfc3339(out, ns / 1000000000, static_cast<std::uint32_t>(ns % 1000000000), 9, zone);
  out += "\",\"event_type\":\"log.netflow\",\"policy\":{\"source\":\"";
  out += to_string(info.source);
  out += '"';
  if (info.source == PolicySource::user || info.host_guard) {
    out += ",\"id\":";
    append_json_string(out, info.policy_id);
  }
  out += "},\"kind\":\"";
  out += to_string(info.kind);
  out += "\",\"verdict\":\"";
  out += to_string(info.verdict);
  out += "\",\"proto\":\"";
  unsigned protocol = f.protocol && *f.protocol <= 255 ? static_cast<unsigned>(*f.protocol) : 0;
  out += proto_name(protocol);
  out += "\",\"src\":";
  std::string reason;
  append_endpoint(out, Side::src, f.src_ip, f.src_port, snapshot, false, reason);
  out += ",\"dst\":";
  append_endpoint(out, Side::dst, f.dest_ip, f.dest_port, snapshot, info.host_guard, reason);
  if ((protocol == 1 || protocol == 58) && (f.icmp_type || f.icmp_code || f.icmp_seq)) {
    out += ",\"icmp\":{";
    bool first = true;
    auto put = [&](std::string_view name, const std::optional<std::uint64_t>& v) {
      if (!v) return;
      if (!first) out += ',';
      first = false;
      out += '"';
      out += name;
      out += "\":";
      append_uint(out, *v);
    };
    put("type", f.icmp_type);
    put("code", f.icmp_code);
    put("seq", f.icmp_seq);
    out += '}';
  }
  out += ",\"rule_hint\":";
  append_json_string(out, *f.prefix);
  out += ",\"raw_hash\":\"";
  out += sha256_hex(raw);
  out += '"';
  if (!reason.empty()) {
    out += ",\"unresolved\":true,\"reason\":";
    append_json_string(out, reason);
  }
  out += '}';
  return EnrichResult{info.well_formed};
}

std::expected<Enriched, Rejection> enrich(std::string_view ulogd_line,
                                          const identity::Snapshot& snapshot,
                                          std::chrono::system_clock::time_point received,
                                          const Zone& zone, const EnrichOptions& options) {
  Enriched result;
  auto r = enrich_into(result.line, ulogd_line, snapshot, received, zone, options);
  if (!r) return std::unexpected(r.error());
  result.prefix_well_formed = r->prefix_well_formed;
  return result;
}

}  // namespace raind::condenser::flowlog

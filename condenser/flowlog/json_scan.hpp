#pragma once
// A strict, allocation-free JSON scanner for ulogd's flat records: it validates one complete
// JSON text (RFC 8259: grammar, string escapes, UTF-8, no trailing bytes) and hands the caller
// each member of the top-level object. Nested values are validated and skipped. It exists
// because a general parser (nlohmann, even in SAX mode) spent most of the enrichment budget
// tokenising ~50 keys per record that the enricher never reads.
#include <cstddef>
#include <string>
#include <string_view>

namespace raind::condenser::flowlog {

enum class JsonType { string, number, other };  // other: true/false/null/object/array

struct JsonMember {
  std::string_view key;  // decoded
  JsonType type;
  std::string_view value;  // string: decoded contents; number: its text; other: empty
};

enum class ScanStatus { ok, malformed, not_object };

// on_member(const JsonMember&) is called for every top-level member, in order; views are valid
// only during the call. Nesting deeper than 64 levels is malformed.
template <class OnMember>
ScanStatus scan_json_object(std::string_view text, OnMember&& on_member);

namespace detail {

class JsonScanner {
 public:
  explicit JsonScanner(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  template <class OnMember>
  ScanStatus run(OnMember& on_member) {
    skip_ws();
    if (p_ == end_) return ScanStatus::malformed;
    if (*p_ != '{') {
      if (!value(0)) return ScanStatus::malformed;
      skip_ws();
      return p_ == end_ ? ScanStatus::not_object : ScanStatus::malformed;
    }
    ++p_;
    skip_ws();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
    } else {
      for (;;) {
        std::string_view key;
        if (!string(key, key_scratch_)) return ScanStatus::malformed;
        skip_ws();
        if (p_ == end_ || *p_ != ':') return ScanStatus::malformed;
        ++p_;
        skip_ws();
        JsonMember m{key, JsonType::other, {}};
        if (p_ < end_ && *p_ == '"') {
          m.type = JsonType::string;
          if (!string(m.value, value_scratch_)) return ScanStatus::malformed;
        } else if (p_ < end_ && (*p_ == '-' || (*p_ >= '0' && *p_ <= '9'))) {
          m.type = JsonType::number;
          const char* start = p_;
          if (!number()) return ScanStatus::malformed;
          m.value = std::string_view(start, static_cast<std::size_t>(p_ - start));
        } else if (!value(1)) {
          return ScanStatus::malformed;
        }
        on_member(static_cast<const JsonMember&>(m));
        skip_ws();
        if (p_ == end_) return ScanStatus::malformed;
        if (*p_ == '}') {
          ++p_;
          break;
        }
        if (*p_ != ',') return ScanStatus::malformed;
        ++p_;
        skip_ws();
      }
    }
    skip_ws();
    return p_ == end_ ? ScanStatus::ok : ScanStatus::malformed;
  }

 private:
  void skip_ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool literal(std::string_view word);
  bool number();
  bool string(std::string_view& out, std::string& scratch);
  bool value(int depth);

  const char* p_;
  const char* end_;
  std::string key_scratch_, value_scratch_, skip_scratch_;  // decoded escapes
};

}  // namespace detail

template <class OnMember>
ScanStatus scan_json_object(std::string_view text, OnMember&& on_member) {
  detail::JsonScanner scanner(text);
  return scanner.run(on_member);
}

}  // namespace raind::condenser::flowlog

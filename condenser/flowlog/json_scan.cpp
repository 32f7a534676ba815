#include "condenser/flowlog/json_scan.hpp"

#include <cstdint>

namespace raind::condenser::flowlog::detail {
namespace {

constexpr int kMaxDepth = 64;

bool digit(char c) {
  return c >= '0' && c <= '9';
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0.
std::size_t utf8_length(const char* p, const char* end) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(p[k]); };
  unsigned char c = b(0);
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
  if (static_cast<std::size_t>(end - p) < n) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3f);
  }
  if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return n;
}

void put_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

}  // namespace

bool JsonScanner::literal(std::string_view word) {
  if (static_cast<std::size_t>(end_ - p_) < word.size()) return false;
  if (std::string_view(p_, word.size()) != word) return false;
  p_ += word.size();
  return true;
}

bool JsonScanner::number() {
  if (p_ < end_ && *p_ == '-') ++p_;
  if (p_ == end_) return false;
  if (*p_ == '0') {
    ++p_;
  } else if (digit(*p_)) {
    while (p_ < end_ && digit(*p_)) ++p_;
  } else {
    return false;
  }
  if (p_ < end_ && *p_ == '.') {
    ++p_;
    if (p_ == end_ || !digit(*p_)) return false;
    while (p_ < end_ && digit(*p_)) ++p_;
  }
  if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
    ++p_;
    if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
    if (p_ == end_ || !digit(*p_)) return false;
    while (p_ < end_ && digit(*p_)) ++p_;
  }
  return true;
}

// Validates and decodes a string; the result views the input when there are no escapes
// (ulogd never writes any for the fields we read) and `scratch` otherwise.
bool JsonScanner::string(std::string_view& out, std::string& scratch) {
  if (p_ == end_ || *p_ != '"') return false;
  ++p_;
  const char* start = p_;
  bool escaped = false;
  const char* run = p_;  // start of the bytes not yet copied into scratch
  for (;;) {
    if (p_ == end_) return false;
    auto c = static_cast<unsigned char>(*p_);
    if (c == '"') break;
    if (c < 0x20) return false;
    if (c >= 0x80) {
      std::size_t n = utf8_length(p_, end_);
      if (n == 0) return false;
      p_ += n;
      continue;
    }
    if (c != '\\') {
      ++p_;
      continue;
    }
    if (!escaped) {
      scratch.clear();
      escaped = true;
    }
    scratch.append(run, p_);
    ++p_;
    if (p_ == end_) return false;
    char e = *p_++;
    switch (e) {
      case '"':
      case '\\':
      case '/':
        scratch.push_back(e);
        break;
      case 'b':
        scratch.push_back('\b');
        break;
      case 'f':
        scratch.push_back('\f');
        break;
      case 'n':
        scratch.push_back('\n');
        break;
      case 'r':
        scratch.push_back('\r');
        break;
      case 't':
        scratch.push_back('\t');
        break;
      case 'u': {
        auto read4 = [&](std::uint32_t& v) {
          if (end_ - p_ < 4) return false;
          v = 0;
          for (int i = 0; i < 4; ++i) {
            int h = hex(p_[i]);
            if (h < 0) return false;
            v = (v << 4) | static_cast<std::uint32_t>(h);
          }
          p_ += 4;
          return true;
        };
        std::uint32_t cp;
        if (!read4(cp)) return false;
        if (cp >= 0xdc00 && cp <= 0xdfff) return false;  // lone low surrogate
        if (cp >= 0xd800 && cp <= 0xdbff) {
          std::uint32_t low;
          if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
          p_ += 2;
          if (!read4(low) || low < 0xdc00 || low > 0xdfff) return false;
          cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
        }
        put_utf8(scratch, cp);
        break;
      }
      default:
        return false;
    }
    run = p_;
  }
  if (escaped) {
    scratch.append(run, p_);
    out = scratch;
  } else {
    out = std::string_view(start, static_cast<std::size_t>(p_ - start));
  }
  ++p_;  // closing quote
  return true;
}

bool JsonScanner::value(int depth) {
  if (depth > kMaxDepth || p_ == end_) return false;
  switch (*p_) {
    case '"': {
      std::string_view ignored;
      return string(ignored, skip_scratch_);
    }
    case 't':
      return literal("true");
    case 'f':
      return literal("false");
    case 'n':
      return literal("null");
    case '{':
    case '[': {
      const char close = *p_ == '{' ? '}' : ']';
      const bool object = close == '}';
      ++p_;
      skip_ws();
      if (p_ < end_ && *p_ == close) {
        ++p_;
        return true;
      }
      for (;;) {
        if (object) {
          std::string_view ignored;
          if (!string(ignored, skip_scratch_)) return false;
          skip_ws();
          if (p_ == end_ || *p_ != ':') return false;
          ++p_;
          skip_ws();
        }
        if (!value(depth + 1)) return false;
        skip_ws();
        if (p_ == end_) return false;
        if (*p_ == close) {
          ++p_;
          return true;
        }
        if (*p_ != ',') return false;
        ++p_;
        skip_ws();
      }
    }
    default:
      return number();
  }
}

}  // namespace raind::condenser::flowlog::detail

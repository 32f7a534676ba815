#include "condenser/logs/query.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <ctime>

#include "raind/unique_fd.hpp"

namespace raind::condenser::logs {
namespace {

constexpr std::size_t kMaxLine = 1u << 20;  // longer lines are skipped, not returned

bool starts_with_id(const std::string& id, const std::string& wanted) {
  return !wanted.empty() && wanted.size() <= id.size() && id.compare(0, wanted.size(), wanted) == 0;
}

bool endpoint_is(const nlohmann::json& e, const std::string& wanted) {
  if (!e.is_object()) return false;
  auto name = e.find("container_name");
  if (name != e.end() && name->is_string() && name->get_ref<const std::string&>() == wanted)
    return true;
  auto id = e.find("container_id");
  return id != e.end() && id->is_string() &&
         starts_with_id(id->get_ref<const std::string&>(), wanted);
}

std::string string_at(const nlohmann::json& j, std::initializer_list<const char*> path) {
  const nlohmann::json* at = &j;
  for (const char* key : path) {
    if (!at->is_object()) return {};
    auto it = at->find(key);
    if (it == at->end()) return {};
    at = &*it;
  }
  return at->is_string() ? at->get<std::string>() : std::string();
}

int two_digits(std::string_view s, std::size_t at) {
  if (at + 2 > s.size() || !isdigit(s[at]) || !isdigit(s[at + 1])) return -1;
  return (s[at] - '0') * 10 + (s[at + 1] - '0');
}

struct OpenLog {
  UniqueFd fd;
  std::uint64_t size = 0;
  std::uint64_t inode = 0;
};

// The log opened for reading; nothing when it does not exist (yet): an empty log.
Result<std::optional<OpenLog>> open_log(const std::filesystem::path& file) {
  OpenLog log{UniqueFd(::open(file.c_str(), O_RDONLY | O_CLOEXEC))};
  if (!log.fd) {
    if (errno == ENOENT) return std::nullopt;
    return fail_errno("open " + file.string());
  }
  struct stat st {};
  if (::fstat(log.fd.get(), &st) != 0) return fail_errno("stat " + file.string());
  log.size = static_cast<std::uint64_t>(st.st_size);
  log.inode = st.st_ino;
  return log;
}

}  // namespace

std::optional<LogKind> parse_log_kind(std::string_view text) {
  if (text == "netflow") return LogKind::netflow;
  if (text == "dns") return LogKind::dns;
  if (text == "audit") return LogKind::audit;
  if (text == "metrics") return LogKind::metrics;
  return std::nullopt;
}

std::string_view log_kind_name(LogKind kind) {
  switch (kind) {
    case LogKind::netflow:
      return "netflow";
    case LogKind::dns:
      return "dns";
    case LogKind::audit:
      return "audit";
    case LogKind::metrics:
      return "metrics";
  }
  return "netflow";
}

std::string log_file_name(LogKind kind) {
  return fmt::format("raind_{}.jsonl", log_kind_name(kind));
}

std::optional<std::chrono::system_clock::time_point> parse_timestamp(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac][Z|±HH:MM|±HHMM]
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  int year = 0;
  if (std::from_chars(s.data(), s.data() + 4, year).ec != std::errc()) return std::nullopt;
  int mon = two_digits(s, 5), day = two_digits(s, 8), hour = two_digits(s, 11),
      min = two_digits(s, 14), sec = two_digits(s, 17);
  if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || min < 0 || min > 59 ||
      sec < 0 || sec > 60)
    return std::nullopt;
  std::size_t at = 19;
  long long micros = 0;
  if (at < s.size() && s[at] == '.') {
    ++at;
    int digits = 0;
    while (at < s.size() && isdigit(s[at])) {
      if (digits < 6) micros = micros * 10 + (s[at] - '0');
      ++digits;
      ++at;
    }
    if (digits == 0) return std::nullopt;
    for (int d = digits; d < 6; ++d) micros *= 10;
  }
  long offset = 0;
  if (at < s.size()) {
    if (s[at] == 'Z' && at + 1 == s.size()) {
    } else if (s[at] == '+' || s[at] == '-') {
      int sign = s[at] == '-' ? -1 : 1;
      int oh = two_digits(s, at + 1);
      std::size_t mat = at + 3;
      if (mat < s.size() && s[mat] == ':') ++mat;
      int om = two_digits(s, mat);
      if (oh < 0 || om < 0 || mat + 2 != s.size()) return std::nullopt;
      offset = sign * (oh * 3600L + om * 60L);
    } else {
      return std::nullopt;
    }
  }
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = mon - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = min;
  tm.tm_sec = sec;
  std::time_t t = ::timegm(&tm);
  return std::chrono::system_clock::from_time_t(t - offset) + std::chrono::microseconds(micros);
}

Result<LogFilter> make_filter(std::string container, std::string verdict, std::string since,
                              std::chrono::system_clock::time_point now) {
  LogFilter f;
  f.container = std::move(container);
  if (!verdict.empty() && verdict != "allow" && verdict != "deny")
    return failf(Errc::invalid_argument, "verdict '{}' is not allow or deny", verdict);
  f.verdict = std::move(verdict);
  if (!since.empty()) {
    if (auto t = parse_timestamp(since)) {
      f.since = *t;
    } else {
      std::uint64_t n = 0;
      auto [end, ec] = std::from_chars(since.data(), since.data() + since.size(), n);
      std::string_view unit(end, since.data() + since.size() - end);
      std::uint64_t scale = unit == "s"   ? 1
                            : unit == "m" ? 60
                            : unit == "h" ? 3600
                            : unit == "d" ? 86400
                                          : 0;
      if (ec != std::errc() || end == since.data() || scale == 0 || n > 100ull * 365 * 86400)
        return failf(Errc::invalid_argument,
                     "since '{}' is neither an RFC 3339 time nor a duration like 10m, 2h, 1d",
                     since);
      f.since = now - std::chrono::seconds(n * scale);
    }
  }
  return f;
}

bool matches(LogKind kind, const nlohmann::json& r, const LogFilter& f) {
  if (!r.is_object()) return false;
  if (!f.container.empty()) {
    bool hit = false;
    switch (kind) {
      case LogKind::netflow:
        hit = endpoint_is(r.value("src", nlohmann::json()), f.container) ||
              endpoint_is(r.value("dst", nlohmann::json()), f.container);
        break;
      case LogKind::dns:
        hit = endpoint_is(r.value("src", nlohmann::json()), f.container);
        break;
      case LogKind::audit:
        hit = endpoint_is(r.value("target", nlohmann::json()), f.container);
        break;
      case LogKind::metrics:
        hit = endpoint_is(r, f.container);
        break;
    }
    if (!hit) return false;
  }
  if (!f.verdict.empty()) {
    std::string v =
        kind == LogKind::audit ? string_at(r, {"result", "status"}) : string_at(r, {"verdict"});
    if (v != f.verdict) return false;
  }
  if (f.since) {
    std::string ts = string_at(r, {"generated_ts"});
    if (ts.empty()) ts = string_at(r, {"received_ts"});
    auto t = parse_timestamp(ts);
    if (!t || *t < *f.since) return false;
  }
  return true;
}

bool line_matches(LogKind kind, std::string_view line, const LogFilter& filter) {
  if (filter.container.empty() && filter.verdict.empty() && !filter.since)
    return !line.empty() && line.front() == '{';
  auto j = nlohmann::json::parse(line, nullptr, false);
  return !j.is_discarded() && matches(kind, j, filter);
}

Result<TailResult> tail(const std::filesystem::path& file, std::size_t count, LogKind kind,
                        const LogFilter& filter) {
  TailResult out;
  RAIND_TRY_ASSIGN(auto log, open_log(file));
  if (!log) return out;
  const UniqueFd& fd = log->fd;
  out.inode = log->inode;
  const std::uint64_t size = log->size;
  std::vector<std::string> found;  // newest first
  // Lines of a segment that ends with '\n', newest first, until enough are found.
  auto take_lines = [&](std::string_view segment) {
    while (!segment.empty() && found.size() < count) {
      segment.remove_suffix(1);  // its '\n'
      auto nl = segment.rfind('\n');
      std::string_view line = nl == std::string_view::npos ? segment : segment.substr(nl + 1);
      if (!line.empty() && line.size() <= kMaxLine && line_matches(kind, line, filter))
        found.emplace_back(line);
      segment = nl == std::string_view::npos ? std::string_view() : segment.substr(0, nl + 1);
    }
  };
  constexpr std::size_t kBlock = 64 * 1024;
  std::uint64_t pos = size;
  std::string rest;  // read but not yet split: starts mid-line unless pos == 0
  bool trimmed_end = false;
  while (pos > 0 && found.size() < count) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, pos));
    pos -= n;
    std::string block(n, '\0');
    ssize_t got = ::pread(fd.get(), block.data(), n, static_cast<off_t>(pos));
    if (got != static_cast<ssize_t>(n)) return fail_errno("read " + file.string());
    rest = block + rest;
    if (!trimmed_end) {
      // Only complete lines: a writer may be half-way through the last one.
      auto last_nl = rest.rfind('\n');
      if (last_nl == std::string::npos) {
        if (rest.size() > kMaxLine) rest.clear();
        continue;
      }
      out.end_offset = pos + last_nl + 1;
      rest.resize(last_nl + 1);
      trimmed_end = true;
    }
    if (pos == 0) break;
    auto first_nl = rest.find('\n');
    if (first_nl == std::string::npos || first_nl + 1 == rest.size()) {
      if (rest.size() > kMaxLine + kBlock) rest.clear();  // an absurd line: skip it
      continue;
    }
    take_lines(std::string_view(rest).substr(first_nl + 1));
    rest.resize(first_nl + 1);
  }
  if (pos == 0 && trimmed_end) take_lines(rest);
  std::reverse(found.begin(), found.end());
  out.lines = std::move(found);
  return out;
}

Result<std::vector<std::string>> read_new(const std::filesystem::path& file, std::uint64_t& offset,
                                          std::uint64_t& inode) {
  std::vector<std::string> out;
  RAIND_TRY_ASSIGN(auto log, open_log(file));
  if (!log) return out;
  const UniqueFd& fd = log->fd;
  const std::uint64_t size = log->size;
  if (log->inode != inode || size < offset) {
    inode = log->inode;
    offset = 0;
  }
  if (size == offset) return out;
  std::uint64_t want = std::min<std::uint64_t>(size - offset, 4u << 20);
  std::string data(static_cast<std::size_t>(want), '\0');
  ssize_t got = ::pread(fd.get(), data.data(), data.size(), static_cast<off_t>(offset));
  if (got < 0) return fail_errno("read " + file.string());
  data.resize(static_cast<std::size_t>(got));
  std::size_t start = 0;
  for (std::size_t nl; (nl = data.find('\n', start)) != std::string::npos; start = nl + 1)
    if (nl > start) out.emplace_back(data, start, nl - start);
  if (start == 0 && data.size() >= (4u << 20)) start = data.size();  // a line too long: skip
  offset += start;
  return out;
}

}  // namespace raind::condenser::logs

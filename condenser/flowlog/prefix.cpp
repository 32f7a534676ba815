#include "condenser/flowlog/prefix.hpp"

namespace raind::condenser::flowlog {
namespace {

bool id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

// Consumes `word` from the front of `text`.
bool eat(std::string_view& text, std::string_view word) {
  if (!text.starts_with(word)) return false;
  text.remove_prefix(word.size());
  return true;
}

}  // namespace

PrefixInfo classify_prefix(std::string_view prefix) noexcept {
  PrefixInfo info;
  std::string_view rest = prefix;
  if (!eat(rest, "RAIND-")) return info;
  FlowKind kind;
  if (eat(rest, "EW-"))
    kind = FlowKind::east_west;
  else if (eat(rest, "NS-"))
    kind = FlowKind::north_south;
  else
    return info;
  Verdict verdict;
  if (eat(rest, "ALLOW,"))
    verdict = Verdict::allow;
  else if (eat(rest, "DENY,"))
    verdict = Verdict::deny;
  else
    return info;
  if (!eat(rest, "id=")) return info;
  if (rest.empty() || rest.size() > 64) return info;
  for (char c : rest)
    if (!id_char(c)) return info;

  info.kind = kind;
  info.verdict = verdict;
  info.policy_id = rest;
  info.well_formed = true;
  if (rest == "predefined") {
    info.source = PolicySource::predefined;
  } else if (rest == "host") {
    info.source = PolicySource::predefined;
    info.host_guard = true;
  } else {
    info.source = PolicySource::user;
  }
  return info;
}

std::string_view to_string(FlowKind kind) noexcept {
  switch (kind) {
    case FlowKind::east_west:
      return "east-west";
    case FlowKind::north_south:
      return "north-south";
    case FlowKind::unknown:
      break;
  }
  return "unknown";
}

std::string_view to_string(Verdict verdict) noexcept {
  switch (verdict) {
    case Verdict::allow:
      return "allow";
    case Verdict::deny:
      return "deny";
    case Verdict::unknown:
      break;
  }
  return "unknown";
}

std::string_view to_string(PolicySource source) noexcept {
  switch (source) {
    case PolicySource::predefined:
      return "predefined";
    case PolicySource::user:
      return "user";
    case PolicySource::unknown:
      break;
  }
  return "unknown";
}

}  // namespace raind::condenser::flowlog

#include "condenser/containers/user_spec.hpp"

#include <charconv>
#include <vector>

namespace raind::condenser::containers {
namespace {

std::optional<std::uint32_t> parse_id(std::string_view text) {
  std::uint32_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    auto pos = line.find(':', start);
    out.push_back(line.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) return out;
    start = pos + 1;
  }
}

// Finds the entry whose field `key_index` equals `key` in a passwd/group style file and returns
// its fields; name:x:id:...
std::optional<std::vector<std::string_view>> find_entry(std::string_view file,
                                                        std::size_t key_index,
                                                        std::string_view key) {
  std::size_t start = 0;
  while (start < file.size()) {
    auto end = file.find('\n', start);
    if (end == std::string_view::npos) end = file.size();
    std::string_view line = file.substr(start, end - start);
    start = end + 1;
    if (line.empty() || line.front() == '#') continue;
    auto f = fields(line);
    if (f.size() > key_index + 1 && f[key_index] == key) return f;
  }
  return std::nullopt;
}

}  // namespace

Result<UserIds> resolve_user(std::string_view text, const AccountFiles& files) {
  if (text.empty()) return UserIds{};
  auto colon = text.find(':');
  std::string_view user = text.substr(0, colon);
  std::optional<std::string_view> group;
  if (colon != std::string_view::npos) group = text.substr(colon + 1);
  if (user.empty() || (group && group->empty()))
    return failf(Errc::invalid_argument, "user \"{}\": expected user[:group]", text);

  UserIds ids;
  std::optional<std::uint32_t> primary_gid;
  if (auto uid = parse_id(user)) {
    ids.uid = *uid;
    if (files.passwd)
      if (auto entry = find_entry(*files.passwd, 2, user); entry && entry->size() > 3)
        primary_gid = parse_id((*entry)[3]);
  } else {
    if (!files.passwd)
      return failf(Errc::invalid_argument,
                   "user \"{}\": the image has no /etc/passwd to look up "
                   "\"{}\"; use a numeric uid",
                   text, user);
    auto entry = find_entry(*files.passwd, 0, user);
    if (!entry || entry->size() < 4 || !parse_id((*entry)[2]) || !parse_id((*entry)[3]))
      return failf(Errc::invalid_argument, "user \"{}\": no user \"{}\" in the image's /etc/passwd",
                   text, user);
    ids.uid = *parse_id((*entry)[2]);
    primary_gid = parse_id((*entry)[3]);
  }

  if (!group) {
    ids.gid = primary_gid.value_or(0);
  } else if (auto gid = parse_id(*group)) {
    ids.gid = *gid;
  } else {
    if (!files.group)
      return failf(Errc::invalid_argument,
                   "user \"{}\": the image has no /etc/group to look up "
                   "\"{}\"; use a numeric gid",
                   text, *group);
    auto entry = find_entry(*files.group, 0, *group);
    if (!entry || entry->size() < 3 || !parse_id((*entry)[2]))
      return failf(Errc::invalid_argument, "user \"{}\": no group \"{}\" in the image's /etc/group",
                   text, *group);
    ids.gid = *parse_id((*entry)[2]);
  }
  return ids;
}

}  // namespace raind::condenser::containers

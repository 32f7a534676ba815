#pragma once
// `--user` / the image's User: "uid", "uid:gid", "name" or "name:group". Names are looked up in
// the image's /etc/passwd and /etc/group, passed in as text so this stays pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "raind/error.hpp"

namespace raind::condenser::containers {

struct UserIds {
  std::uint32_t uid = 0;
  std::uint32_t gid = 0;
  friend bool operator==(const UserIds&, const UserIds&) = default;
};

struct AccountFiles {
  std::optional<std::string> passwd;  // contents of the image's /etc/passwd, if it has one
  std::optional<std::string> group;   // contents of /etc/group
};

// Empty text is root. A numeric uid without a group takes the primary group of that uid from
// passwd when listed there, else gid 0.
Result<UserIds> resolve_user(std::string_view text, const AccountFiles& files);

}  // namespace raind::condenser::containers

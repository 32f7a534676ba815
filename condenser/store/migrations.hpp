#pragma once
// Ordered schema migrations. Migration N brings the schema from version N-1 to N; each runs in
// its own transaction together with the schema_version bump, so a crash leaves a consistent
// version. Never edit a shipped migration: append a new one.
#include <span>
#include <string_view>

#include "condenser/store/sqlite.hpp"

namespace raind::condenser::store {

struct Migration {
  int version;
  std::string_view description;
  std::string_view sql;
};

std::span<const Migration> migrations();
Result<int> schema_version(Db& db);
// Applies the pending migrations; refuses a database newer than this binary.
Status migrate(Db& db, std::span<const Migration> list = migrations());

}  // namespace raind::condenser::store

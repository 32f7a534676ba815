#include "condenser/store/migrations.hpp"

#include <array>

namespace raind::condenser::store {
namespace {

constexpr std::string_view kV1 = R"sql(
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
CREATE TABLE containers (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  state       TEXT NOT NULL CHECK (state IN ('creating','created','running','stopped','deleting')),
  pid         INTEGER NOT NULL DEFAULT 0,
  image_ref   TEXT NOT NULL DEFAULT '',
  spiffe_id   TEXT,
  spec        TEXT NOT NULL DEFAULT '{}',
  creating_at TEXT NOT NULL,
  created_at  TEXT,
  started_at  TEXT,
  stopped_at  TEXT
);
CREATE TABLE ipam_pools (
  bridge  TEXT PRIMARY KEY,
  subnet  TEXT NOT NULL UNIQUE,
  gateway TEXT NOT NULL
);
CREATE TABLE ipam_allocations (
  pool         TEXT NOT NULL REFERENCES ipam_pools(bridge) ON DELETE RESTRICT,
  address      TEXT NOT NULL,
  container_id TEXT NOT NULL REFERENCES containers(id) ON DELETE CASCADE,
  veth         TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (pool, address),
  UNIQUE (container_id, pool)
);
CREATE TABLE images (
  id         TEXT PRIMARY KEY,
  repository TEXT NOT NULL,
  reference  TEXT NOT NULL,
  digest     TEXT NOT NULL,
  config     TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  UNIQUE (repository, reference)
);
CREATE TABLE policy_revisions (
  revision     INTEGER PRIMARY KEY AUTOINCREMENT,
  committed_at TEXT NOT NULL,
  ns_mode      TEXT NOT NULL DEFAULT 'observe',
  payload      TEXT NOT NULL
);
CREATE TABLE policies (
  id          TEXT PRIMARY KEY,
  chain       TEXT NOT NULL,
  status      TEXT NOT NULL,
  source      TEXT NOT NULL DEFAULT '{}',
  destination TEXT NOT NULL DEFAULT '{}',
  protocol    TEXT NOT NULL DEFAULT '',
  dport       INTEGER NOT NULL DEFAULT 0,
  comment     TEXT NOT NULL DEFAULT '',
  created_at  TEXT NOT NULL
);
CREATE TABLE bottles (
  id         TEXT PRIMARY KEY,
  name       TEXT NOT NULL UNIQUE,
  spec       TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE certificates (
  serial       TEXT PRIMARY KEY,
  kind         TEXT NOT NULL CHECK (kind IN ('ca','server','cli','hook','container')),
  subject_cn   TEXT NOT NULL,
  spiffe_id    TEXT NOT NULL DEFAULT '',
  container_id TEXT,
  not_before   TEXT NOT NULL,
  not_after    TEXT NOT NULL,
  fingerprint  TEXT NOT NULL,
  pem          TEXT NOT NULL,
  issued_at    TEXT NOT NULL,
  superseded_at TEXT
);
CREATE INDEX certificates_kind ON certificates(kind, superseded_at);
)sql";

constexpr std::array<Migration, 1> kMigrations{{
    {1, "initial schema", kV1},
}};

}  // namespace

std::span<const Migration> migrations() {
  return kMigrations;
}

Result<int> schema_version(Db& db) {
  RAIND_TRY(db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  RAIND_TRY_ASSIGN(auto stmt, db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version"));
  RAIND_TRY_ASSIGN(bool row, stmt.step());
  return row ? static_cast<int>(stmt.int64(0)) : 0;
}

Status migrate(Db& db, std::span<const Migration> list) {
  RAIND_TRY_ASSIGN(int current, schema_version(db));
  int newest = list.empty() ? 0 : list.back().version;
  if (current > newest)
    return failf(Errc::unsupported,
                 "database schema version {} is newer than this condenserd supports ({})", current,
                 newest);
  for (const auto& m : list) {
    if (m.version <= current) continue;
    Status applied = transaction(db, [&]() -> Status {
      RAIND_TRY(
          with_context(db.exec(m.sql), fmt::format("migration {} ({})", m.version, m.description)));
      RAIND_TRY_ASSIGN(auto stmt, db.prepare("INSERT INTO schema_version(version) VALUES (?)"));
      return stmt.bind(1, static_cast<std::int64_t>(m.version)).run();
    });
    if (!applied) return applied;
  }
  return ok();
}

}  // namespace raind::condenser::store

#include "condenser/store/store.hpp"

#include <ctime>

#include "condenser/store/migrations.hpp"

namespace raind::condenser::store {

std::string now_rfc3339() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm {};
  gmtime_r(&ts.tv_sec, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06}Z", buf, ts.tv_nsec / 1000);
}

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& path) {
  RAIND_TRY_ASSIGN(auto db, Db::open(path));
  // WAL keeps readers off the writer; synchronous=FULL makes an acknowledged commit durable even
  // across power loss (NORMAL would only guarantee consistency).
  RAIND_TRY(db.exec("PRAGMA journal_mode=WAL"));
  RAIND_TRY(db.exec("PRAGMA synchronous=FULL"));
  RAIND_TRY(db.exec("PRAGMA foreign_keys=ON"));
  RAIND_TRY(db.exec("PRAGMA busy_timeout=5000"));
  RAIND_TRY(with_context(migrate(db), "migrate " + path.string()));
  return std::unique_ptr<Store>(new Store(std::move(db)));
}

Status Store::insert_container(const ContainerRow& row) {
  std::lock_guard lock(mutex_);
  RAIND_TRY_ASSIGN(auto stmt,
                   db_.prepare("INSERT INTO containers(id,name,state,pid,image_ref,spiffe_id,spec,"
                               "creating_at) VALUES (?,?,?,?,?,?,?,?)"));
  stmt.bind(1, row.id).bind(2, row.name).bind(3, row.state).bind(4, row.pid);
  stmt.bind(5, row.image_ref).bind_opt(6, row.spiffe_id).bind(7, row.spec);
  stmt.bind(8, row.creating_at.empty() ? now_rfc3339() : row.creating_at);
  return with_context(stmt.run(), "insert container " + row.id);
}

namespace {
constexpr std::string_view kContainerColumns =
    "SELECT id,name,state,pid,image_ref,spiffe_id,spec,creating_at FROM containers";

ContainerRow container_from(Stmt& stmt) {
  return ContainerRow{stmt.text(0), stmt.text(1),
                      stmt.text(2), stmt.int64(3),
                      stmt.text(4), stmt.is_null(5) ? std::nullopt : std::optional(stmt.text(5)),
                      stmt.text(6), stmt.text(7)};
}
}  // namespace

Result<std::optional<ContainerRow>> Store::find_container(const std::string& id) {
  std::lock_guard lock(mutex_);
  RAIND_TRY_ASSIGN(auto stmt, db_.prepare(fmt::format("{} WHERE id=?", kContainerColumns)));
  stmt.bind(1, id);
  RAIND_TRY_ASSIGN(bool row, stmt.step());
  if (!row) return std::optional<ContainerRow>();
  return std::optional(container_from(stmt));
}

Result<std::vector<ContainerRow>> Store::list_containers() {
  std::lock_guard lock(mutex_);
  RAIND_TRY_ASSIGN(auto stmt, db_.prepare(fmt::format("{} ORDER BY id", kContainerColumns)));
  std::vector<ContainerRow> out;
  while (true) {
    RAIND_TRY_ASSIGN(bool row, stmt.step());
    if (!row) break;
    out.push_back(container_from(stmt));
  }
  return out;
}

Status Store::update_container(const ContainerRow& row) {
  std::lock_guard lock(mutex_);
  RAIND_TRY_ASSIGN(auto stmt,
                   db_.prepare("UPDATE containers SET name=?,state=?,pid=?,spec=? WHERE id=?"));
  stmt.bind(1, row.name).bind(2, row.state).bind(3, row.pid).bind(4, row.spec).bind(5, row.id);
  RAIND_TRY(with_context(stmt.run(), "update container " + row.id));
  if (db_.changes() == 0) return failf(Errc::not_found, "container '{}' does not exist", row.id);
  return ok();
}

Status Store::delete_container(const std::string& id) {
  std::lock_guard lock(mutex_);
  // The container's certificates go with it (revoked on removal); kept, they added a row per
  // container ever created.
  return transaction(db_, [&]() -> Status {
    RAIND_TRY_ASSIGN(auto certs, db_.prepare("DELETE FROM certificates WHERE container_id=?"));
    RAIND_TRY(with_context(certs.bind(1, id).run(), "delete certificates of container " + id));
    RAIND_TRY_ASSIGN(auto stmt, db_.prepare("DELETE FROM containers WHERE id=?"));
    return with_context(stmt.bind(1, id).run(), "delete container " + id);
  });
}

Status Store::set_container_spiffe_id(const std::string& id, const std::string& spiffe_id) {
  std::lock_guard lock(mutex_);
  RAIND_TRY_ASSIGN(auto stmt, db_.prepare("UPDATE containers SET spiffe_id=? WHERE id=?"));
  return stmt.bind(1, spiffe_id).bind(2, id).run();
}

Status Store::record_certificates(const std::vector<pki::CertRecord>& certs,
                                  bool supersede_same_kind) {
  std::lock_guard lock(mutex_);
  const std::string now = now_rfc3339();
  return transaction(db_, [&]() -> Status {
    for (const auto& c : certs) {
      if (supersede_same_kind && c.kind != "container") {
        RAIND_TRY_ASSIGN(auto upd, db_.prepare("UPDATE certificates SET superseded_at=? WHERE "
                                               "kind=? AND superseded_at IS NULL"));
        RAIND_TRY(upd.bind(1, now).bind(2, c.kind).run());
      }
      RAIND_TRY_ASSIGN(auto stmt,
                       db_.prepare("INSERT INTO certificates(serial,kind,subject_cn,spiffe_id,"
                                   "container_id,not_before,not_after,fingerprint,pem,issued_at) "
                                   "VALUES (?,?,?,?,?,?,?,?,?,?)"));
      stmt.bind(1, c.serial).bind(2, c.kind).bind(3, c.subject_cn).bind(4, c.spiffe_id);
      if (c.container_id.empty())
        stmt.bind_null(5);
      else
        stmt.bind(5, c.container_id);
      stmt.bind(6, c.not_before).bind(7, c.not_after).bind(8, c.fingerprint).bind(9, c.pem);
      stmt.bind(10, now);
      RAIND_TRY(with_context(stmt.run(), "record certificate " + c.serial));
    }
    return ok();
  });
}

Result<std::vector<CertificateRow>> Store::list_certificates(bool include_superseded) {
  std::lock_guard lock(mutex_);
  RAIND_TRY_ASSIGN(
      auto stmt,
      db_.prepare(include_superseded
                      ? "SELECT serial,kind,subject_cn,spiffe_id,COALESCE(container_id,''),"
                        "not_before,not_after,fingerprint,issued_at,superseded_at FROM "
                        "certificates ORDER BY issued_at, kind"
                      : "SELECT serial,kind,subject_cn,spiffe_id,COALESCE(container_id,''),"
                        "not_before,not_after,fingerprint,issued_at,superseded_at FROM "
                        "certificates WHERE superseded_at IS NULL ORDER BY issued_at, kind"));
  std::vector<CertificateRow> out;
  while (true) {
    RAIND_TRY_ASSIGN(bool row, stmt.step());
    if (!row) break;
    CertificateRow r;
    r.cert.serial = stmt.text(0);
    r.cert.kind = stmt.text(1);
    r.cert.subject_cn = stmt.text(2);
    r.cert.spiffe_id = stmt.text(3);
    r.cert.container_id = stmt.text(4);
    r.cert.not_before = stmt.text(5);
    r.cert.not_after = stmt.text(6);
    r.cert.fingerprint = stmt.text(7);
    r.issued_at = stmt.text(8);
    if (!stmt.is_null(9)) r.superseded_at = stmt.text(9);
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::optional<std::string>> Store::meta(const std::string& key) {
  std::lock_guard lock(mutex_);
  RAIND_TRY_ASSIGN(auto stmt, db_.prepare("SELECT value FROM meta WHERE key=?"));
  stmt.bind(1, key);
  RAIND_TRY_ASSIGN(bool row, stmt.step());
  if (!row) return std::optional<std::string>();
  return std::optional(stmt.text(0));
}

Status Store::set_meta(const std::string& key, const std::string& value) {
  std::lock_guard lock(mutex_);
  RAIND_TRY_ASSIGN(auto stmt, db_.prepare("INSERT INTO meta(key,value) VALUES (?,?) ON CONFLICT"
                                          "(key) DO UPDATE SET value=excluded.value"));
  return stmt.bind(1, key).bind(2, value).run();
}

Result<std::int64_t> Store::count_locked(std::string_view table) {
  RAIND_TRY_ASSIGN(auto stmt, db_.prepare(fmt::format("SELECT COUNT(*) FROM {}", table)));
  RAIND_TRY(stmt.step());
  return stmt.int64(0);
}

Result<Counts> Store::counts() {
  std::lock_guard lock(mutex_);
  Counts c;
  RAIND_TRY_ASSIGN(c.containers, count_locked("containers"));
  RAIND_TRY_ASSIGN(c.images, count_locked("images"));
  RAIND_TRY_ASSIGN(c.policies, count_locked("policies"));
  RAIND_TRY_ASSIGN(c.certificates, count_locked("certificates"));
  return c;
}

Result<int> Store::schema_version() {
  std::lock_guard lock(mutex_);
  return store::schema_version(db_);
}

Result<std::string> Store::integrity_check() {
  std::lock_guard lock(mutex_);
  RAIND_TRY_ASSIGN(auto stmt, db_.prepare("PRAGMA integrity_check"));
  RAIND_TRY(stmt.step());
  return stmt.text(0);
}

}  // namespace raind::condenser::store

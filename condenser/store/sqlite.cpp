#include "condenser/store/sqlite.hpp"

namespace raind::condenser::store {
namespace {
std::unexpected<Error> fail_sqlite(sqlite3* db, int rc, std::string what) {
  Errc code = Errc::internal;
  if (rc == SQLITE_CONSTRAINT) code = Errc::already_exists;
  if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) code = Errc::unavailable;
  return std::unexpected<Error>(
      Error(code, fmt::format("{}: {}", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc))));
}
}  // namespace

Stmt& Stmt::bind(int index, std::string_view text) {
  int rc = sqlite3_bind_text(stmt_.get(), index, text.data(), static_cast<int>(text.size()),
                             SQLITE_TRANSIENT);
  if (rc != SQLITE_OK && bind_status_)
    bind_status_ = fail_sqlite(sqlite3_db_handle(stmt_.get()), rc, "bind");
  return *this;
}

Stmt& Stmt::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_.get(), index, value);
  if (rc != SQLITE_OK && bind_status_)
    bind_status_ = fail_sqlite(sqlite3_db_handle(stmt_.get()), rc, "bind");
  return *this;
}

Stmt& Stmt::bind_null(int index) {
  sqlite3_bind_null(stmt_.get(), index);
  return *this;
}

Stmt& Stmt::bind_opt(int index, const std::optional<std::string>& text) {
  return text ? bind(index, *text) : bind_null(index);
}

Result<bool> Stmt::step() {
  RAIND_TRY(bind_status_);
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return fail_sqlite(sqlite3_db_handle(stmt_.get()), rc,
                     fmt::format("execute '{}'", sqlite3_sql(stmt_.get())));
}

Status Stmt::run() {
  RAIND_TRY_ASSIGN(bool row, step());
  (void)row;
  return ok();
}

std::string Stmt::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_.get(), col);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), col)));
}

std::int64_t Stmt::int64(int col) const {
  return sqlite3_column_int64(stmt_.get(), col);
}

bool Stmt::is_null(int col) const {
  return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL;
}

Result<Db> Db::open(const std::filesystem::path& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
      nullptr);
  Db db;
  db.db_.reset(raw);
  if (rc != SQLITE_OK) return fail_sqlite(raw, rc, "open database " + path.string());
  sqlite3_extended_result_codes(raw, 0);
  return db;
}

Status Db::exec(std::string_view sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_.get(), std::string(sql).c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return failf(rc == SQLITE_CONSTRAINT ? Errc::already_exists : Errc::internal, "sql: {}", msg);
  }
  return ok();
}

Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_.get(), sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return fail_sqlite(db_.get(), rc, fmt::format("prepare '{}'", sql));
  return Stmt(stmt);
}

}  // namespace raind::condenser::store

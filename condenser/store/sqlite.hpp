#pragma once
// Minimal RAII layer over sqlite3: a connection and prepared statements with typed binds.
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "raind/error.hpp"

namespace raind::condenser::store {

class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}

  Stmt& bind(int index, std::string_view text);
  Stmt& bind(int index, std::int64_t value);
  Stmt& bind_null(int index);
  Stmt& bind_opt(int index, const std::optional<std::string>& text);
  // true: a row is available; false: done.
  Result<bool> step();
  Status run();  // step to completion, expecting no rows

  std::string text(int col) const;
  std::int64_t int64(int col) const;
  bool is_null(int col) const;

 private:
  struct Finalize {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
  };
  std::unique_ptr<sqlite3_stmt, Finalize> stmt_;
  Status bind_status_;
};

class Db {
 public:
  static Result<Db> open(const std::filesystem::path& path);
  Status exec(std::string_view sql);
  Result<Stmt> prepare(std::string_view sql);
  sqlite3* handle() const { return db_.get(); }
  std::string errmsg() const { return sqlite3_errmsg(db_.get()); }
  // Rows changed by the last INSERT/UPDATE/DELETE.
  int changes() const { return sqlite3_changes(db_.get()); }

 private:
  struct Close {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
  };
  std::unique_ptr<sqlite3, Close> db_;
};

// Runs `fn` inside BEGIN IMMEDIATE … COMMIT; rolls back when it fails.
template <class Fn>
Status transaction(Db& db, Fn&& fn) {
  RAIND_TRY(db.exec("BEGIN IMMEDIATE"));
  Status status = fn();
  if (!status) {
    (void)db.exec("ROLLBACK");
    return status;
  }
  return db.exec("COMMIT");
}

}  // namespace raind::condenser::store

#pragma once
// condenserd's state: one SQLite database (WAL, synchronous=FULL, foreign keys on) behind one
// writer connection. Every public method takes the store mutex, so handlers on the io_context
// and workers in a thread pool may call it. Repositories are thin typed views over the tables.
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "condenser/pki/pki.hpp"
#include "condenser/store/sqlite.hpp"

namespace raind::condenser::store {

struct ContainerRow {
  std::string id;
  std::string name;
  std::string state;  // creating|created|running|stopped|deleting
  std::int64_t pid = 0;
  std::string image_ref;
  std::optional<std::string> spiffe_id;
  std::string spec = "{}";
  std::string creating_at;
};

struct CertificateRow {
  pki::CertRecord cert;
  std::string issued_at;
  std::optional<std::string> superseded_at;
};

struct Counts {
  std::int64_t containers = 0;
  std::int64_t images = 0;
  std::int64_t policies = 0;
  std::int64_t certificates = 0;
};

std::string now_rfc3339();

class Store {
 public:
  // ":memory:" gives an in-memory database (unit tests).
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& path);

  // containers
  Status insert_container(const ContainerRow& row);
  Result<std::optional<ContainerRow>> find_container(const std::string& id);
  Result<std::vector<ContainerRow>> list_containers();  // by id, i.e. creation order
  // Replaces name, state, pid and spec; not_found when the row is gone.
  Status update_container(const ContainerRow& row);
  Status delete_container(const std::string& id);  // absent is not an error
  Status set_container_spiffe_id(const std::string& id, const std::string& spiffe_id);

  // certificates
  Status record_certificates(const std::vector<pki::CertRecord>& certs, bool supersede_same_kind);
  Result<std::vector<CertificateRow>> list_certificates(bool include_superseded);

  // meta
  Result<std::optional<std::string>> meta(const std::string& key);
  Status set_meta(const std::string& key, const std::string& value);

  Result<Counts> counts();
  Result<int> schema_version();
  // PRAGMA integrity_check == "ok"
  Result<std::string> integrity_check();

 private:
  explicit Store(Db db) : db_(std::move(db)) {}
  Result<std::int64_t> count_locked(std::string_view table);

  std::mutex mutex_;
  Db db_;
};

}  // namespace raind::condenser::store

#include <gtest/gtest.h>

#include <algorithm>
#include <array>

#include "condenser/store/migrations.hpp"
#include "condenser/store/store.hpp"

using namespace raind::condenser;
using namespace raind::condenser::store;

TEST(Migrations, FreshDatabaseReachesLatestVersionWithAllTables) {
  auto db = Db::open(":memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate(*db));
  EXPECT_EQ(*schema_version(*db), migrations().back().version);
  for (const char* table : {"meta", "containers", "ipam_pools", "ipam_allocations", "images",
                            "policies", "policy_revisions", "bottles", "certificates"}) {
    auto stmt = db->prepare("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name=?");
    ASSERT_TRUE(stmt);
    stmt->bind(1, std::string_view(table));
    ASSERT_TRUE(*stmt->step());
    EXPECT_EQ(stmt->int64(0), 1) << table;
  }
  ASSERT_TRUE(migrate(*db));  // idempotent
  EXPECT_EQ(*schema_version(*db), migrations().back().version);
}

TEST(Migrations, AppliesOnlyPendingOnesInOrder) {
  static constexpr std::array<Migration, 2> kList{{
      {1, "one", "CREATE TABLE t1(x)"},
      {2, "two", "CREATE TABLE t2(x); INSERT INTO t1 VALUES (2)"},
  }};
  auto db = Db::open(":memory:");
  ASSERT_TRUE(db);
  ASSERT_TRUE(migrate(*db, std::span(kList).first(1)));
  EXPECT_EQ(*schema_version(*db), 1);
  ASSERT_TRUE(migrate(*db, kList));
  EXPECT_EQ(*schema_version(*db), 2);
  auto stmt = db->prepare("SELECT COUNT(*) FROM t1");
  ASSERT_TRUE(*stmt->step());
  EXPECT_EQ(stmt->int64(0), 1);
}

TEST(Migrations, FailedMigrationRollsBackAndKeepsVersion) {
  static constexpr std::array<Migration, 2> kList{{
      {1, "one", "CREATE TABLE t1(x)"},
      {2, "broken", "CREATE TABLE t2(x); THIS IS NOT SQL"},
  }};
  auto db = Db::open(":memory:");
  ASSERT_TRUE(db);
  EXPECT_FALSE(migrate(*db, kList));
  EXPECT_EQ(*schema_version(*db), 1);
  auto stmt = db->prepare("SELECT COUNT(*) FROM sqlite_master WHERE name='t2'");
  ASSERT_TRUE(*stmt->step());
  EXPECT_EQ(stmt->int64(0), 0);
}

TEST(Migrations, RefusesNewerDatabase) {
  auto db = Db::open(":memory:");
  ASSERT_TRUE(migrate(*db));
  ASSERT_TRUE(db->exec("INSERT INTO schema_version VALUES (999)"));
  auto s = migrate(*db);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code(), raind::Errc::unsupported);
}

TEST(StoreRepo, ContainersCertificatesMetaAndCounts) {
  auto s = Store::open(":memory:");
  ASSERT_TRUE(s) << s.error().what();
  auto& store = **s;
  ContainerRow row;
  row.id = "abc123";
  row.name = "web";
  row.state = "creating";
  ASSERT_TRUE(store.insert_container(row));
  EXPECT_FALSE(store.insert_container(row));  // duplicate id
  row.state = "flying";
  row.id = "other";
  row.name = "other";
  EXPECT_FALSE(store.insert_container(row));  // CHECK constraint
  auto found = store.find_container("abc123");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->state, "creating");
  EXPECT_FALSE((*found)->spiffe_id);
  ASSERT_TRUE(store.set_container_spiffe_id("abc123", "spiffe://raind/container/abc123"));
  EXPECT_EQ(*(*store.find_container("abc123"))->spiffe_id, "spiffe://raind/container/abc123");
  EXPECT_FALSE(store.find_container("nope")->has_value());

  pki::CertRecord c1{"01", "server", "s", "", "", "a", "b", "f1", "pem"};
  pki::CertRecord c2{"02", "server", "s", "", "", "a", "b", "f2", "pem"};
  ASSERT_TRUE(store.record_certificates({c1}, true));
  ASSERT_TRUE(store.record_certificates({c2}, true));
  auto active = store.list_certificates(false);
  ASSERT_TRUE(active);
  ASSERT_EQ(active->size(), 1u);
  EXPECT_EQ(active->front().cert.serial, "02");
  EXPECT_EQ(store.list_certificates(true)->size(), 2u);

  ASSERT_TRUE(store.set_meta("k", "v1"));
  ASSERT_TRUE(store.set_meta("k", "v2"));
  EXPECT_EQ(**store.meta("k"), "v2");
  EXPECT_FALSE(*store.meta("missing"));

  auto counts = store.counts();
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->containers, 1);
  EXPECT_EQ(counts->certificates, 2);
  EXPECT_EQ(*store.integrity_check(), "ok");
}

// A removed container takes its certificates along; the others stay.
TEST(StoreRepo, DeletingAContainerDeletesItsCertificates) {
  auto s = Store::open(":memory:");
  ASSERT_TRUE(s) << s.error().what();
  auto& store = **s;
  for (const char* id : {"gone", "kept"}) {
    ContainerRow row;
    row.id = id;
    row.name = id;
    row.state = "created";
    ASSERT_TRUE(store.insert_container(row));
  }
  pki::CertRecord server{"01", "server", "s", "", "", "a", "b", "f1", "pem"};
  pki::CertRecord gone{"02", "container", "c",  "spiffe://raind/container/gone", "gone", "a",
                       "b",  "f2",        "pem"};
  pki::CertRecord kept{"03", "container", "c",  "spiffe://raind/container/kept", "kept", "a",
                       "b",  "f3",        "pem"};
  ASSERT_TRUE(store.record_certificates({server, gone, kept}, false));
  ASSERT_TRUE(store.delete_container("gone"));
  auto rows = store.list_certificates(true);
  ASSERT_TRUE(rows);
  std::vector<std::string> serials;
  for (const auto& row : *rows) serials.push_back(row.cert.serial);
  std::sort(serials.begin(), serials.end());
  EXPECT_EQ(serials, (std::vector<std::string>{"01", "03"}));
  EXPECT_EQ(store.counts()->containers, 1);
}

// The staging state machine against a real (temporary) SQLite store, with the environment and
// the applier as seams: what a commit publishes, what a failed apply leaves, what restarts see.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "condenser/policy/service.hpp"

namespace raind::condenser::policy {
namespace {

namespace fs = std::filesystem;

class PolicyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "raind-policy-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto store = store::Store::open(dir_ / "raind.db");
    ASSERT_TRUE(store) << store.error().what();
    store_ = std::move(*store);
    env_.bridges = {{"raind0", "10.166.0.254"}};
    env_.containers = {{"01kg2cnf0ytv", "web", "10.166.0.1", "raind0", "rd_01kg2cnf0ytv"},
                       {"01kg2cnf0yta", "db", "10.166.0.2", "raind0", "rd_01kg2cnf0yta"}};
    reopen();
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  void reopen() {
    service_.reset();
    auto s = PolicyService::open(
        *store_, [this]() -> Result<PolicyEnvironment> { return env_; },
        [this](const hostnet::FilterRules& rules) -> Status {
          if (fail_apply_) return failf(Errc::system, "iptables-restore: simulated failure");
          applied_.push_back(rules.payload);
          return ok();
        });
    ASSERT_TRUE(s) << s.error().what();
    service_ = std::move(*s);
  }
  Policy web_to_db() {
    Policy p;
    p.source = "web";
    p.destination = "01kg2cnf0yta";  // an id: stored as the name "db"
    p.protocol = "tcp";
    p.dport = 5432;
    return p;
  }

  fs::path dir_;
  std::unique_ptr<store::Store> store_;
  PolicyEnvironment env_;
  std::unique_ptr<PolicyService> service_;
  std::vector<std::string> applied_;
  bool fail_apply_ = false;
};

TEST_F(PolicyServiceTest, OnlyACommitPublishesAndAFailedApplyChangesNothing) {
  auto added = service_->add(web_to_db());
  ASSERT_TRUE(added) << added.error().what();
  EXPECT_EQ(added->destination, "db");
  EXPECT_EQ(added->id.size(), 26u);
  EXPECT_EQ(service_->add(web_to_db()).error().code(), Errc::already_exists);
  auto listing = service_->list();
  ASSERT_EQ(listing.policies.size(), 1u);
  EXPECT_EQ(listing.policies[0].status, PolicyStatus::pending_add);

  // Containers coming and going re-render the committed revision: still nothing allowed.
  ASSERT_TRUE(service_->reapply());
  ASSERT_EQ(applied_.size(), 1u);
  EXPECT_EQ(applied_.back().find("RAIND-EW-ALLOW"), std::string::npos);

  auto committed = service_->commit();
  ASSERT_TRUE(committed) << committed.error().what();
  EXPECT_EQ(committed->revision, 1u);
  EXPECT_NE(applied_.back().find("RAIND-EW-ALLOW,id=" + added->id), std::string::npos);
  EXPECT_EQ(service_->list().policies[0].status, PolicyStatus::applied);

  // A refused apply: revision, statuses and the staged change all stay as they were.
  ASSERT_TRUE(service_->set_mode(NsMode::enforce));
  ASSERT_TRUE(service_->remove(added->id));
  fail_apply_ = true;
  auto refused = service_->commit();
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().what().find("simulated failure"), std::string::npos);
  listing = service_->list();
  EXPECT_EQ(listing.revision, 1u);
  EXPECT_EQ(listing.mode, NsMode::observe);
  ASSERT_TRUE(listing.next_mode);
  EXPECT_EQ(listing.policies[0].status, PolicyStatus::pending_remove);
  fail_apply_ = false;

  // Revert: the working set is the committed revision again.
  ASSERT_TRUE(service_->revert());
  listing = service_->list();
  EXPECT_FALSE(listing.next_mode);
  EXPECT_EQ(listing.policies[0].status, PolicyStatus::applied);
  EXPECT_EQ(service_->set_mode(NsMode::observe).error().code(), Errc::conflict);
}

TEST_F(PolicyServiceTest, StateSurvivesARestartAndNamesRebind) {
  auto added = service_->add(web_to_db());
  ASSERT_TRUE(added);
  ASSERT_TRUE(service_->commit());
  Policy staged;
  staged.source = "db";
  staged.destination = "web";
  ASSERT_TRUE(service_->add(staged));
  reopen();
  auto listing = service_->list();
  EXPECT_EQ(listing.revision, 1u);
  ASSERT_EQ(listing.policies.size(), 2u);
  EXPECT_EQ(listing.policies[0].status, PolicyStatus::applied);
  EXPECT_EQ(listing.policies[1].status, PolicyStatus::pending_add);

  ASSERT_TRUE(service_->reapply());
  env_.containers.pop_back();  // db removed: unresolved
  ASSERT_TRUE(service_->reapply());
  EXPECT_EQ(service_->list().policies[0].status, PolicyStatus::unresolved);
  EXPECT_NE(service_->list().policies[0].status_reason.find("'db'"), std::string::npos);
  env_.containers.push_back({"01kg2cnf0ytz", "db", "10.166.0.3", "raind0", "rd_01kg2cnf0ytz"});
  ASSERT_TRUE(service_->reapply());  // a new container named db
  auto views = service_->list().policies;
  EXPECT_EQ(views[0].status, PolicyStatus::applied);
  EXPECT_NE(views[0].status_reason.find("re-bound"), std::string::npos) << views[0].status_reason;
  EXPECT_NE(applied_.back().find("rd_01kg2cnf0ytz"), std::string::npos);
}

// A bottle's policies go in and out with the bottle, committed at once, and never publish what
// the operator has staged.
TEST_F(PolicyServiceTest, OwnedPoliciesAreCommittedAloneAndCannotBeRemovedOnTheirOwn) {
  auto staged = service_->add(web_to_db());
  ASSERT_TRUE(staged);
  Policy bottled;
  bottled.source = "db";
  bottled.destination = "web";
  bottled.protocol = "tcp";
  bottled.dport = 80;
  auto installed = service_->install_owned("bottle:shop", {bottled});
  ASSERT_TRUE(installed) << installed.error().what();
  ASSERT_EQ(installed->size(), 1u);
  const std::string id = installed->front().id;
  EXPECT_EQ(installed->front().owner, "bottle:shop");
  ASSERT_FALSE(applied_.empty());
  EXPECT_NE(applied_.back().find("RAIND-EW-ALLOW,id=" + id), std::string::npos);
  EXPECT_EQ(applied_.back().find("RAIND-EW-ALLOW,id=" + staged->id), std::string::npos)
      << "the operator's staged policy was published";
  auto listing = service_->list();
  EXPECT_EQ(listing.revision, 1u);
  for (const auto& v : listing.policies) {
    if (v.policy.id == id) {
      EXPECT_EQ(v.status, PolicyStatus::applied);
    }
    if (v.policy.id == staged->id) {
      EXPECT_EQ(v.status, PolicyStatus::pending_add);
    }
  }
  auto refused = service_->remove(id);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), Errc::conflict);
  EXPECT_NE(refused.error().what().find("bottle:shop"), std::string::npos);

  // A failed apply records nothing.
  fail_apply_ = true;
  EXPECT_FALSE(service_->install_owned("bottle:other", {bottled}));
  EXPECT_FALSE(service_->uninstall_owned("bottle:shop"));
  fail_apply_ = false;
  EXPECT_EQ(service_->list().revision, 1u);

  // Survives a restart, then leaves in one revision; the staged policy is still only staged.
  reopen();
  ASSERT_TRUE(service_->uninstall_owned("bottle:shop"));
  listing = service_->list();
  EXPECT_EQ(listing.revision, 2u);
  ASSERT_EQ(listing.policies.size(), 1u);
  EXPECT_EQ(listing.policies.front().policy.id, staged->id);
  EXPECT_EQ(listing.policies.front().status, PolicyStatus::pending_add);
  EXPECT_EQ(applied_.back().find(id), std::string::npos);
  // Nothing of that owner: not an error, no new revision.
  ASSERT_TRUE(service_->uninstall_owned("bottle:shop"));
  EXPECT_EQ(service_->list().revision, 2u);
}

}  // namespace
}  // namespace raind::condenser::policy

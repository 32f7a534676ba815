#include <gtest/gtest.h>

#include "condenser/policy/policy.hpp"

namespace raind::condenser::policy {
namespace {

Policy ew(std::string id, std::string src, std::string dst) {
  Policy p;
  p.id = std::move(id);
  p.source = std::move(src);
  p.destination = std::move(dst);
  return p;
}

const std::string kId1 = "01kgtyrrnrxvncpjcmjz2rtnm1";
const std::string kId2 = "01kgtyrrnrxvncpjcmjz2rtnm2";
const std::string kId3 = "01kgtyrrnrxvncpjcmjz2rtnm3";

TEST(PolicyModel, ValidationNamesTheField) {
  EXPECT_TRUE(validate_policy(ew(kId1, "web", "db")));
  struct Case {
    Policy p;
    const char* field;
  };
  auto with = [](Policy p, auto f) {
    f(p);
    return p;
  };
  std::vector<Case> bad{
      {with(ew(kId1, "web", "db"), [](Policy& p) { p.protocol = "sctp"; }), "protocol"},
      {with(ew(kId1, "web", "db"), [](Policy& p) { p.dport = 80; }), "dport"},
      {with(ew(kId1, "web", "db"),
            [](Policy& p) {
              p.protocol = "icmp";
              p.dport = 1;
            }),
       "dport"},
      {ew(kId1, "web", "10.0.0.1"), "destination"},  // ew names containers... this one is a name
      {ew(kId1, "web", "web"), "destination"},
      {ew(kId1, "", "db"), "source"},
      {ew(kId1, "we b", "db"), "source"},
      {ew("nope", "web", "db"), "id"},
      {with(ew(kId1, "web", "db"), [](Policy& p) { p.comment = "a\nb"; }), "comment"},
      {with(ew(kId1, "web", "8.8.8.8/33"), [](Policy& p) { p.type = PolicyType::ns_observe; }),
       "destination"},
      {with(ew(kId1, "web", "10.0.0.1/8"), [](Policy& p) { p.type = PolicyType::ns_enforce; }),
       "destination"},
      {with(ew(kId1, "web", "db"), [](Policy& p) { p.type = PolicyType::ns_enforce; }),
       "destination"},
  };
  // "10.0.0.1" is a valid container name too (dots are allowed), so that case passes.
  bad.erase(bad.begin() + 3);
  for (const auto& c : bad) {
    auto r = validate_policy(c.p);
    ASSERT_FALSE(r) << to_json(c.p).dump();
    EXPECT_TRUE(r.error().what().starts_with(c.field)) << r.error().what();
  }
  auto ns = with(ew(kId1, "web", "198.51.100.0/24"), [](Policy& p) {
    p.type = PolicyType::ns_observe;
    p.protocol = "tcp";
    p.dport = 443;
  });
  EXPECT_TRUE(validate_policy(ns));
  EXPECT_FALSE(parse_type("north"));
  EXPECT_EQ(*parse_type("east-west"), PolicyType::east_west);
  EXPECT_FALSE(parse_mode("audit"));
}

TEST(PolicyModel, DocumentsRoundTrip) {
  PolicyDocument doc;
  doc.revision = 7;
  doc.mode = NsMode::enforce;
  doc.committed_unix = 1700000000;
  auto p = ew(kId1, "web", "db");
  p.protocol = "tcp";
  p.dport = 5432;
  p.comment = "app to db";
  p.reason = "ticket 42";
  doc.policies.push_back(p);
  auto back = parse_document(serialize_document(doc));
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(*back, doc);
  EXPECT_FALSE(parse_document("{}"));
  EXPECT_FALSE(parse_document(R"({"version":1,"policies":[{"id":"x"}]})"));
}

TEST(PolicyModel, StatusesComeFromWorkingVersusCommitted) {
  PolicyDocument committed, working;
  auto applied = ew(kId1, "web", "db");
  auto removed = ew(kId2, "web", "cache");
  auto added = ew(kId3, "api", "db");
  committed.policies = {applied, removed};
  working.policies = {applied, added};
  auto views = policy_views(working, committed, {});
  ASSERT_EQ(views.size(), 3u);
  EXPECT_EQ(views[0].policy.id, kId1);
  EXPECT_EQ(views[0].status, PolicyStatus::applied);
  EXPECT_EQ(views[1].status, PolicyStatus::pending_remove);
  EXPECT_EQ(views[2].status, PolicyStatus::pending_add);
  EXPECT_EQ(status_flag(views[1].status), "[-]");
  auto unresolved = policy_views(working, committed, {{kId1, "container 'db' not found"}});
  EXPECT_EQ(unresolved[0].status, PolicyStatus::unresolved);
  EXPECT_EQ(unresolved[0].status_reason, "container 'db' not found");
  EXPECT_EQ(status_flag(unresolved[0].status), "[ ]");
}

}  // namespace
}  // namespace raind::condenser::policy

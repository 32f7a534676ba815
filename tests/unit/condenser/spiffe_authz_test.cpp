#include <gtest/gtest.h>

#include "condenser/api/authz.hpp"
#include "condenser/pki/spiffe.hpp"

using namespace raind::condenser;
using namespace raind::condenser::api;

TEST(Spiffe, ParsesValidIds) {
  auto id = parse_spiffe_id("spiffe://raind/container/abc-123");
  ASSERT_TRUE(id) << id.error().what();
  EXPECT_EQ(id->trust_domain, "raind");
  ASSERT_EQ(id->segments.size(), 2u);
  EXPECT_EQ(id->segment(0), "container");
  EXPECT_EQ(id->segment(1), "abc-123");
  EXPECT_EQ(id->segment(5), "");
  EXPECT_EQ(id->str(), "spiffe://raind/container/abc-123");
  auto td_only = parse_spiffe_id("spiffe://raind");
  ASSERT_TRUE(td_only);
  EXPECT_TRUE(td_only->segments.empty());
}

TEST(Spiffe, RejectsMalformedIds) {
  for (const char* bad :
       {"", "http://raind/cli/admin", "SPIFFE://raind/cli/admin", "spiffe://",
        "spiffe:///cli/admin", "spiffe://raind:443/cli/admin", "spiffe://user@raind/cli/admin",
        "spiffe://RAIND/cli/admin", "spiffe://raind/cli/admin/", "spiffe://raind//admin",
        "spiffe://raind/cli/../admin", "spiffe://raind/cli/./admin", "spiffe://raind/cli/ad%20min",
        "spiffe://raind/cli/admin?x=1", "spiffe://raind/cli/admin#f"}) {
    EXPECT_FALSE(parse_spiffe_id(bad)) << bad;
  }
}

TEST(Spiffe, RaindIdSegment) {
  EXPECT_TRUE(is_raind_id_segment("01kg2cnf0ytv"));
  EXPECT_TRUE(is_raind_id_segment("a-b"));
  EXPECT_FALSE(is_raind_id_segment(""));
  EXPECT_FALSE(is_raind_id_segment("ABC"));
  EXPECT_FALSE(is_raind_id_segment("a_b"));
  EXPECT_FALSE(is_raind_id_segment("a.b"));
}

namespace {
Peer peer(std::vector<std::string> uris, bool has_cert = true) {
  Peer p;
  p.has_cert = has_cert;
  p.uri_sans = std::move(uris);
  p.address = "127.0.0.1";
  return p;
}
}  // namespace

TEST(Authz, NoCertificateIs401) {
  auto d = authorize(ListenerKind::management, peer({}, false));
  EXPECT_EQ(d.status, 401u);
  EXPECT_EQ(d.message, "client certificate required");
}

TEST(Authz, CertificateWithoutUriSanIs403) {
  auto d = authorize(ListenerKind::management, peer({}));
  EXPECT_EQ(d.status, 403u);
  EXPECT_NE(d.message.find("no URI SAN"), std::string::npos);
}

TEST(Authz, TwoUriSansAre403) {
  auto d = authorize(ListenerKind::management,
                     peer({"spiffe://raind/cli/admin", "spiffe://raind/cli/other"}));
  EXPECT_EQ(d.status, 403u);
  EXPECT_NE(d.message.find("2 URI SANs"), std::string::npos);
}

TEST(Authz, ListenerRoles) {
  EXPECT_TRUE(authorize(ListenerKind::management, peer({"spiffe://raind/cli/admin"})).allowed());
  EXPECT_TRUE(authorize(ListenerKind::management, peer({"spiffe://raind/cli/ops-2"})).allowed());
  EXPECT_TRUE(authorize(ListenerKind::hooks, peer({"spiffe://raind/container/abc"})).allowed());
  EXPECT_TRUE(authorize(ListenerKind::ca, peer({"spiffe://raind/droplet/hook"})).allowed());

  // Prefix tricks that a string compare would let through.
  EXPECT_EQ(authorize(ListenerKind::management, peer({"spiffe://raind/cli"})).status, 403u);
  EXPECT_EQ(authorize(ListenerKind::management, peer({"spiffe://raind/cli/admin/x"})).status, 403u);
  EXPECT_EQ(authorize(ListenerKind::management, peer({"spiffe://raind/client/admin"})).status,
            403u);
  EXPECT_EQ(authorize(ListenerKind::management, peer({"spiffe://other/cli/admin"})).status, 403u);
  EXPECT_EQ(authorize(ListenerKind::management, peer({"spiffe://raind/container/abc"})).status,
            403u);
  EXPECT_EQ(authorize(ListenerKind::hooks, peer({"spiffe://raind/cli/admin"})).status, 403u);
  EXPECT_EQ(authorize(ListenerKind::hooks, peer({"spiffe://raind/containerx/abc"})).status, 403u);
  EXPECT_EQ(authorize(ListenerKind::ca, peer({"spiffe://raind/droplet/container"})).status, 403u);
  EXPECT_EQ(authorize(ListenerKind::ca, peer({"spiffe://raind/cli/admin"})).status, 403u);
  auto d = authorize(ListenerKind::ca, peer({"spiffe://raind/cli/admin"}));
  EXPECT_EQ(d.message,
            "spiffe id 'spiffe://raind/cli/admin' may not use the ca api (requires "
            "spiffe://raind/droplet/hook)");
}

TEST(Authz, ContainerIdentityMustMatchBody) {
  auto id = parse_spiffe_id("spiffe://raind/container/abc");
  ASSERT_TRUE(id);
  EXPECT_TRUE(check_container_identity(*id, "abc"));
  auto mismatch = check_container_identity(*id, "abd");
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().code(), raind::Errc::permission_denied);
}

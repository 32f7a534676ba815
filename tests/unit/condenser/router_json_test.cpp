#include <gtest/gtest.h>

#include "condenser/api/envelope.hpp"
#include "condenser/api/router.hpp"
#include "condenser/api/strict_json.hpp"
#include "raind-cli/client/client.hpp"
#include "raind-cli/output/table.hpp"

using namespace raind::condenser::api;
using boost::asio::awaitable;

namespace {
Handler noop() {
  return [](ApiRequest&) -> awaitable<ApiResponse> { co_return success("ok"); };
}
}  // namespace

TEST(Router, MatchesLiteralsAndParameters) {
  Router r;
  r.add("GET", "/v1/containers", "container.list", Severity::information, noop());
  r.add("GET", "/v1/containers/{id}", "container.info", Severity::information, noop());
  r.add("POST", "/v1/containers/{id}/actions/start", "container.start", Severity::medium, noop());
  r.add("DELETE", "/v1/policies/{id}", "policy.delete", Severity::medium, noop());
  r.add("POST", "/v1/policies/commit", "policy.commit", Severity::critical, noop());
  r.add("POST", "/v1/policies/{id}", "policy.bogus", Severity::low, noop());

  auto m = r.match("GET", "/v1/containers/abc");
  ASSERT_EQ(m.kind, MatchKind::found);
  EXPECT_EQ(m.route->action, "container.info");
  EXPECT_EQ(m.params.at("id"), "abc");

  m = r.match("POST", "/v1/containers/x1/actions/start");
  ASSERT_EQ(m.kind, MatchKind::found);
  EXPECT_EQ(m.route->action, "container.start");
  EXPECT_EQ(m.params.at("id"), "x1");

  m = r.match("POST", "/v1/policies/commit");  // literal beats {id}
  ASSERT_EQ(m.kind, MatchKind::found);
  EXPECT_EQ(m.route->action, "policy.commit");

  m = r.match("PUT", "/v1/containers/abc");
  EXPECT_EQ(m.kind, MatchKind::method_not_allowed);
  EXPECT_EQ(m.allowed, std::vector<std::string>{"GET"});

  EXPECT_EQ(r.match("GET", "/v1/containers/abc/extra").kind, MatchKind::not_found);
  EXPECT_EQ(r.match("GET", "/v1/containers/").kind, MatchKind::not_found);
  EXPECT_EQ(r.match("GET", "/v1//containers").kind, MatchKind::not_found);
  EXPECT_EQ(r.match("GET", "/v1/containers/../containers").kind, MatchKind::not_found);
  EXPECT_EQ(r.match("GET", "v1/containers").kind, MatchKind::not_found);
  EXPECT_EQ(r.match("GET", "").kind, MatchKind::not_found);
}

TEST(Router, MaxBodyLimit) {
  Router r;
  r.add("POST", "/a", "a", Severity::low, noop(), 10);
  r.add("POST", "/b", "b", Severity::low, noop(), 5000);
  EXPECT_EQ(r.max_body_limit(100), 5000u);
  EXPECT_EQ(Router().max_body_limit(100), 100u);
}

TEST(Envelope, SuccessAndFailureShapes) {
  auto s = success("done", nlohmann::json{{"id", "x"}});
  EXPECT_EQ(s.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(s.body),
            (nlohmann::json{{"status", "success"}, {"message", "done"}, {"data", {{"id", "x"}}}}));
  auto no_data = success("done");
  EXPECT_FALSE(nlohmann::json::parse(no_data.body).contains("data"));
  auto f = failure(404, "no such container");
  EXPECT_EQ(nlohmann::json::parse(f.body),
            (nlohmann::json{{"status", "fail"}, {"message", "no such container"}}));
  EXPECT_EQ(f.message, "no such container");
}

TEST(Envelope, ErrorCodesMapToStatuses) {
  using raind::Errc;
  EXPECT_EQ(status_for(Errc::invalid_argument), 400u);
  EXPECT_EQ(status_for(Errc::parse), 400u);
  EXPECT_EQ(status_for(Errc::unauthenticated), 401u);
  EXPECT_EQ(status_for(Errc::permission_denied), 403u);
  EXPECT_EQ(status_for(Errc::not_found), 404u);
  EXPECT_EQ(status_for(Errc::already_exists), 409u);
  EXPECT_EQ(status_for(Errc::conflict), 409u);
  EXPECT_EQ(status_for(Errc::internal), 500u);
  auto r = failure(raind::Error(Errc::internal, "disk on fire"));
  EXPECT_EQ(r.status, 500u);
  EXPECT_EQ(r.message, "service failed: disk on fire");
}

TEST(StrictJson, ReadsTypedFieldsAndRejectsUnknown) {
  auto o = StrictObject::parse(R"({"image":"alpine","tty":true,"port":["80:80"],"n":3})");
  ASSERT_TRUE(o);
  EXPECT_EQ(*o->required_string("image"), "alpine");
  EXPECT_EQ(**o->optional_bool("tty"), true);
  EXPECT_EQ(*o->string_array("port"), std::vector<std::string>{"80:80"});
  EXPECT_FALSE(o->finish());  // "n" not read yet
  EXPECT_EQ(o->finish().error().message(), "invalid json: unknown field 'n'");
  EXPECT_EQ(**o->optional_int("n"), 3);
  EXPECT_TRUE(o->finish());
}

TEST(StrictJson, WrongTypesNameTheField) {
  auto o = StrictObject::parse(R"({"image":5,"tty":"yes","port":[1]})");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->required_string("image").error().message(),
            "invalid json: field 'image' must be a string");
  EXPECT_EQ(o->optional_bool("tty").error().message(),
            "invalid json: field 'tty' must be a boolean");
  EXPECT_EQ(o->string_array("port").error().message(),
            "invalid json: field 'port' must be an array of strings");
  EXPECT_EQ(o->required_string("missing").error().message(),
            "invalid json: field 'missing' is required");
}

TEST(StrictJson, BodyShape) {
  EXPECT_FALSE(StrictObject::parse("{"));
  EXPECT_FALSE(StrictObject::parse("[1,2]"));
  EXPECT_FALSE(StrictObject::parse(""));
  EXPECT_TRUE(StrictObject::parse("", true));
  EXPECT_EQ(StrictObject::parse("{").error().message(), "invalid json: body is not valid json");
}

TEST(CliOutput, TableAndPairs) {
  raind::cli::Table t({"KIND", "SERIAL"});
  t.add({"ca", "0123"});
  t.add({"server", "45"});
  EXPECT_EQ(t.render(), "KIND     SERIAL\nca       0123\nserver   45\n");
  EXPECT_EQ(raind::cli::render_pairs({{"A", "1"}, {"Long", "2"}}), "A:    1\nLong: 2\n");
}

TEST(CliClient, ParseHost) {
  auto e = raind::cli::parse_host("https://127.0.0.1:7755");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, "7755");
  e = raind::cli::parse_host("localhost");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->display(), "localhost:7755");
  e = raind::cli::parse_host("https://[::1]:9/");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, "9");
  EXPECT_FALSE(raind::cli::parse_host("http://127.0.0.1:7755"));
  EXPECT_FALSE(raind::cli::parse_host("127.0.0.1:x"));
}

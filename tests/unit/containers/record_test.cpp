// Create-request parsing, restart policies and the stored container record.
#include <gtest/gtest.h>

#include "condenser/containers/record.hpp"

using namespace raind::condenser::containers;

TEST(CreateRequest, ParsesEveryField) {
  auto req = parse_create_request(R"({
    "image": "busybox:latest", "name": "web", "command": ["sh", "-c", "echo hi"],
    "entrypoint": [], "env": ["A=1", "B="], "workdir": "/srv", "user": "1000:1000",
    "hostname": "web1", "read_only": true, "tty": true, "memory": 33554432, "cpus": 0.5,
    "pids_limit": 64, "volumes": ["/data:/data:ro"], "ports": ["8080:80/tcp", "53:53:udp"],
    "network": "backend", "restart": "on-failure:3", "start": true})");
  ASSERT_TRUE(req) << req.error().what();
  EXPECT_EQ(req->image, "busybox:latest");
  EXPECT_EQ(req->name, "web");
  EXPECT_EQ(req->process.command, (std::vector<std::string>{"sh", "-c", "echo hi"}));
  ASSERT_TRUE(req->process.entrypoint);
  EXPECT_TRUE(req->process.entrypoint->empty());
  EXPECT_EQ(req->process.env.size(), 2u);
  EXPECT_EQ(req->process.workdir, "/srv");
  EXPECT_TRUE(req->process.read_only);
  EXPECT_TRUE(req->process.tty);
  EXPECT_EQ(req->process.memory_bytes, 33554432);
  EXPECT_DOUBLE_EQ(*req->process.cpus, 0.5);
  EXPECT_EQ(req->process.pids_limit, 64);
  ASSERT_EQ(req->ports.size(), 2u);
  EXPECT_EQ(req->ports[1].protocol, Protocol::udp);
  EXPECT_EQ(req->network, "backend");
  EXPECT_EQ(req->restart.max_retries, 3);
  EXPECT_TRUE(req->start);
}

TEST(CreateRequest, RejectsBadInputWithTheFieldName) {
  struct Case {
    const char* body;
    const char* message;
  };
  const Case cases[] = {
      {R"({})", "image"},
      {R"({"image": ""})", "image"},
      {R"({"image": "a", "bogus": 1})", "bogus"},
      {R"({"image": "a", "env": ["NOEQUALS"]})", "NOEQUALS"},
      {R"({"image": "a", "memory": 1024})", "memory"},
      {R"({"image": "a", "cpus": 0})", "cpus"},
      {R"({"image": "a", "pids_limit": 0})", "pids_limit"},
      {R"({"image": "a", "ports": ["80"]})", "80"},
      {R"({"image": "a", "workdir": "rel"})", "workdir"},
      {R"({"image": "a", "restart": "sometimes"})", "sometimes"},
      {R"({"image": "a", "command": "sh"})", "command"},
      {R"([1])", "object"},
      {R"({"image": )", "json"},
  };
  for (const auto& c : cases) {
    auto req = parse_create_request(c.body);
    ASSERT_FALSE(req) << c.body;
    EXPECT_NE(req.error().what().find(c.message), std::string::npos)
        << c.body << " → " << req.error().what();
  }
}

TEST(RestartPolicy, ParsesAndDecides) {
  EXPECT_EQ(parse_restart_policy("no")->mode, RestartPolicy::Mode::no);
  EXPECT_EQ(parse_restart_policy("always")->mode, RestartPolicy::Mode::always);
  EXPECT_EQ(parse_restart_policy("on-failure")->max_retries, 0);
  EXPECT_EQ(parse_restart_policy("on-failure:5")->to_string(), "on-failure:5");
  for (const char* bad : {"on-failure:", "on-failure:0", "on-failure:x", "on-failure5", "maybe"})
    EXPECT_FALSE(parse_restart_policy(bad)) << bad;

  RestartPolicy on_failure{RestartPolicy::Mode::on_failure, 2};
  EXPECT_TRUE(should_restart(on_failure, 1, 0));
  EXPECT_TRUE(should_restart(on_failure, 1, 1));
  EXPECT_FALSE(should_restart(on_failure, 1, 2));
  EXPECT_FALSE(should_restart(on_failure, 0, 0));
  EXPECT_TRUE(should_restart({RestartPolicy::Mode::always, 0}, 0, 100));
  EXPECT_FALSE(should_restart({}, 1, 0));
}

TEST(ContainerRecord, RoundTripsThroughJson) {
  ContainerRecord r;
  r.id = "01jh2k3m4n5p";
  r.name = "web";
  r.image = "docker.io/library/busybox:latest";
  r.state = "running";
  r.pid = 42;
  r.exit_code = 137;
  r.oom_killed = true;
  r.command = {"sh"};
  r.network = "raind0";
  r.ip = "10.166.0.1";
  r.veth = "rd_01jh2k3m4n5p";
  r.ports = {*parse_port_spec("8080:80"), *parse_port_spec("127.0.0.1:53:53/udp")};
  r.restart = *parse_restart_policy("on-failure:2");
  r.restart_count = 1;
  r.created_at = "2026-11-22T18:00:00Z";
  auto back = ContainerRecord::from_json(r.to_json());
  ASSERT_TRUE(back) << back.error().what();
  EXPECT_EQ(back->to_json(), r.to_json());
  EXPECT_EQ(back->ports, r.ports);
  EXPECT_EQ(r.to_json()["ports"][0], "0.0.0.0:8080->80/tcp");

  EXPECT_FALSE(ContainerRecord::from_json(nlohmann::json::array()));
  EXPECT_FALSE(ContainerRecord::from_json({{"name", "x"}}));
  EXPECT_FALSE(ContainerRecord::from_json({{"id", "a"}, {"name", "b"}, {"ports", {"80"}}}));
  // Numbers are integers in range, never converted with undefined behaviour.
  EXPECT_FALSE(ContainerRecord::from_json({{"id", "a"}, {"name", "b"}, {"pid", 1e300}}));
  EXPECT_FALSE(ContainerRecord::from_json({{"id", "a"}, {"name", "b"}, {"exit_code", 1.5}}));
  EXPECT_FALSE(ContainerRecord::from_json({{"id", "a"}, {"name", "b"}, {"exit_code", 1LL << 40}}));
  EXPECT_FALSE(ContainerRecord::from_json({{"id", "a"}, {"name", "b"}, {"restart_count", "3"}}));
  auto no_exit = ContainerRecord::from_json({{"id", "a"}, {"name", "b"}, {"exit_code", nullptr}});
  ASSERT_TRUE(no_exit);
  EXPECT_FALSE(no_exit->exit_code);
}

// Bottles end to end (issue 10): a YAML file becomes a network, containers started in dependency
// order (waiting for health where asked) and the policies between them — which are the only
// reason the services can talk. Bad files are refused with their position and leave nothing;
// a daemon killed in the middle of a create leaves the bottle complete or gone.
#include <fstream>

#include "fixture.hpp"

using namespace raind::testing;
using namespace raind::testing::containers;
namespace fs = std::filesystem;

namespace {

// db answers HTTP on 5432 once it is "ready" (a second after start); web is told where db is
// through an env value naming its dependency.
std::string shop_yaml(const std::string& name, bool with_policy) {
  std::string yaml = "bottle:\n  name: " + name + R"(
services:
  db:
    image: busybox:latest
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec httpd -f -p 5432 -h /etc"]
    healthcheck:
      command: ["test", "-f", "/tmp/ready"]
      interval: 200ms
      retries: 30
  web:
    image: busybox:latest
    command: ["sleep", "1000"]
    env: ["DB_ADDR=db:5432", "MODE=production"]
    depends_on:
      db:
        condition: service_healthy
)";
  if (with_policy)
    yaml += R"(policies:
  - type: east-west
    source: web
    destination: db
    protocol: tcp
    dest_port: 5432
    comment: web reads the catalogue
)";
  return yaml;
}

class Bottles : public Containers {
 protected:
  fs::path write(const std::string& file, const std::string& text) {
    fs::path p = dir_->path() / file;
    std::ofstream(p) << text;
    return p;
  }
  bool fetch(const std::string& container, const std::string& url) {
    return raind({"container", "exec", container, "timeout", "3", "wget", "-q", "-O", "/dev/null",
                  url})
               .code == 0;
  }
  // Nothing of any bottle: no bottles, containers, bottle networks or policies.
  void expect_nothing_left() {
    EXPECT_EQ(raind({"bottle", "ls", "--json"}).out, "[]\n");
    EXPECT_EQ(raind({"container", "ls", "-a", "-q"}).out, "");
    auto nets = raind({"network", "ls"});
    EXPECT_EQ(nets.out.find("rb-"), std::string::npos) << nets.out;
    auto policies = raind({"policy", "ls", "--json"});
    auto doc = nlohmann::json::parse(policies.out, nullptr, false);
    EXPECT_TRUE(doc.is_object() && doc.value("policies", nlohmann::json::array()).empty())
        << policies.out;
    EXPECT_TRUE(links_with_prefix("rd_").empty());
    EXPECT_TRUE(leftover_cgroups().empty());
  }
};

}  // namespace

TEST_F(Bottles, ServicesTalkOnlyThroughTheBottlesPolicy) {
  auto created =
      raind({"bottle", "create", "-f", write("shop.yaml", shop_yaml("shop", true)).string()});
  ASSERT_EQ(created.code, 0) << created.err << daemon_->output();
  EXPECT_EQ(created.out, "bottle: shop created\n");
  ASSERT_EQ(raind({"bottle", "start", "shop"}).code, 0) << daemon_->output();
  const std::string db_ip = inspect("shop-db").value("ip", "");
  ASSERT_FALSE(db_ip.empty());
  EXPECT_EQ(inspect("shop-web").value("network", ""), "rb-shop");

  // The env value naming the dependency became its address.
  auto env = raind({"container", "exec", "shop-web", "sh", "-c", "echo $DB_ADDR $MODE"});
  EXPECT_EQ(env.out, db_ip + ":5432 production\n") << env.err;
  EXPECT_TRUE(fetch("shop-web", "http://" + db_ip + ":5432/hostname")) << daemon_->output();
  // Service names resolve inside the bottle through the DNS proxy.
  auto named = raind(
      {"container", "exec", "shop-web", "raind-probe", "dns", "10.166.254.254", "db.shop", "udp"});
  EXPECT_NE(named.out.find("address=" + db_ip), std::string::npos) << named.out << named.err;
  // (busybox-static's wget cannot resolve names: raind-probe resolves through resolv.conf.)
  auto by_name = [&](const std::string& container, const std::string& host) {
    return raind(
        {"container", "exec", container, "raind-probe", "http-get", host, "5432", "/hostname"});
  };
  auto got = by_name("shop-web", "db");
  EXPECT_EQ(got.code, 0) << got.out << got.err;
  EXPECT_NE(got.out.find("200 OK"), std::string::npos) << got.out;
  EXPECT_EQ(by_name("shop-web", "db.shop").code, 0);
  // Only the declared flow: not the other way, not another port.
  EXPECT_FALSE(fetch("shop-db", "http://" + inspect("shop-web").value("ip", "") + ":5432/"));

  // A container outside the bottle cannot reach db, and cannot resolve its name.
  run_detached({"--name", "outsider", "busybox:latest", "sleep", "1000"});
  EXPECT_FALSE(fetch("outsider", "http://" + db_ip + ":5432/hostname"));
  auto lookup =
      raind({"container", "exec", "outsider", "raind-probe", "dns", "10.166.0.254", "db", "udp"});
  EXPECT_EQ(lookup.out.find("address=" + db_ip), std::string::npos) << lookup.out;

  // The same bottle without its policy: web cannot connect.
  ASSERT_EQ(
      raind({"bottle", "create", "-f", write("bare.yaml", shop_yaml("bare", false)).string()}).code,
      0);
  ASSERT_EQ(raind({"bottle", "start", "bare"}).code, 0) << daemon_->output();
  EXPECT_FALSE(fetch("bare-web", "http://" + inspect("bare-db").value("ip", "") + ":5432/"));
  EXPECT_NE(by_name("bare-web", "db").code, 0);

  // What the operator sees.
  auto ls = raind({"bottle", "ls"});
  EXPECT_NE(ls.out.find("shop"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("running"), std::string::npos) << ls.out;
  auto show = raind({"bottle", "show", "shop"});
  EXPECT_NE(show.out.find("START ORDER"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("db, web"), std::string::npos) << show.out;
  EXPECT_NE(show.out.find("web reads the catalogue"), std::string::npos) << show.out;
  auto policies = raind({"policy", "ls", "--json"});
  EXPECT_NE(policies.out.find("bottle:shop"), std::string::npos) << policies.out;

  // Its containers and policies go with the bottle only.
  auto refused = raind({"container", "stop", "shop-db"});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("belongs to bottle 'shop'"), std::string::npos) << refused.err;
  EXPECT_NE(raind({"container", "rm", "-f", "shop-web"}).code, 0);
  auto doc = nlohmann::json::parse(policies.out, nullptr, false);
  for (const auto& p : doc.value("policies", nlohmann::json::array()))
    if (p.value("owner", "") == "bottle:shop") {
      EXPECT_NE(raind({"policy", "rm", p.value("id", "")}).code, 0);
    }

  ASSERT_EQ(raind({"bottle", "stop", "shop"}).code, 0);
  EXPECT_EQ(inspect("shop-db").value("state", ""), "stopped");
  ASSERT_EQ(raind({"bottle", "rm", "shop"}).code, 0) << daemon_->output();
  ASSERT_EQ(raind({"bottle", "rm", "bare"}).code, 0) << daemon_->output();
  ASSERT_EQ(raind({"container", "rm", "-f", "outsider"}).code, 0);
  expect_nothing_left();
}

TEST_F(Bottles, StartOrderFollowsDependenciesAndHealthTheSameEveryTime) {
  const std::string yaml = R"(bottle:
  name: chain
services:
  zeta:
    image: busybox:latest
    command: ["sleep", "1000"]
  api:
    image: busybox:latest
    command: ["sleep", "1000"]
    depends_on: [cache]
  cache:
    image: busybox:latest
    command: ["sh", "-c", "sleep 1; touch /tmp/ready; exec sleep 1000"]
    healthcheck: {command: ["test", "-f", "/tmp/ready"], interval: 100ms, retries: 50}
  front:
    image: busybox:latest
    command: ["sleep", "1000"]
    depends_on:
      api: {condition: service_started}
      cache: {condition: service_healthy}
)";
  auto file = write("chain.yaml", yaml);
  std::vector<std::string> orders;
  for (int run = 0; run < 2; ++run) {
    ASSERT_EQ(raind({"bottle", "create", "-f", file.string()}).code, 0) << daemon_->output();
    ASSERT_EQ(raind({"bottle", "start", "chain"}).code, 0) << daemon_->output();
    auto doc = nlohmann::json::parse(raind({"bottle", "show", "chain", "--json"}).out);
    std::string order;
    for (const auto& s : doc["start_order"]) order += s.get<std::string>() + " ";
    orders.push_back(order);
    // Dependencies first, ties by name; the containers really started in that order.
    EXPECT_EQ(order, "cache api front zeta ") << doc.dump();
    auto started = [&](const std::string& svc) {
      return inspect("chain-" + svc).value("started_at", "");
    };
    EXPECT_LT(started("cache"), started("api"));
    EXPECT_LT(started("api"), started("front"));
    EXPECT_LT(started("front"), started("zeta"));
    // front waited for cache to become healthy (a second after its start).
    // Milliseconds within the hour of "2026-11-23T06:05:01.123456Z".
    auto ms = [](const std::string& t) {
      return std::stod(t.substr(17, 9)) * 1000 + std::stoi(t.substr(14, 2)) * 60000;
    };
    EXPECT_GE(ms(started("front")) - ms(started("cache")), 900.0)
        << started("cache") << " " << started("front");
    ASSERT_EQ(raind({"bottle", "rm", "chain"}).code, 0) << daemon_->output();
  }
  EXPECT_EQ(orders[0], orders[1]);
  expect_nothing_left();
}

TEST_F(Bottles, BadFilesAreRefusedWithThePositionAndNothingIsCreated) {
  const std::string good = shop_yaml("ok", true);
  struct Case {
    std::string yaml, expected;
  };
  const std::vector<Case> cases = {
      {"bottle:\n  name: x\nservices:\n  db: {image: [unclosed\n", "bad.yaml:"},
      {"bottle:\n  name: x\n  colour: red\nservices:\n  db: {image: busybox:latest}\n",
       "bad.yaml:3:3"},
      {"bottle:\n  name: x\nservices:\n  db:\n    command: [sleep, '1']\n", "image"},
      {"bottle:\n  name: x\nservices:\n  a: {image: busybox:latest, depends_on: [b]}\n"
       "  b: {image: busybox:latest, depends_on: [a]}\n",
       "a -> b -> a"},
      {"bottle:\n  name: x\nservices:\n  a: {image: busybox:latest, depends_on: [ghost]}\n",
       "ghost"},
      {"bottle:\n  name: x\nservices:\n  a: {image: busybox:latest}\npolicies:\n"
       "  - {type: east-west, source: a, destination: x-ghost, protocol: tcp, dest_port: 80}\n",
       "ghost"},
      {"bottle:\n  name: x\nservices:\n  a: {image: busybox:latest}\npolicies:\n"
       "  - {type: north-south_enforce, source: a, destination: example.com}\n",
       "bad.yaml:6:"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    auto r = raind({"bottle", "create", "-f", write("bad.yaml", c.yaml).string()});
    EXPECT_NE(r.code, 0);
    EXPECT_NE(r.err.find(c.expected), std::string::npos) << r.err;
  }
  expect_nothing_left();
  // A second bottle of the same name is refused; the first is untouched.
  ASSERT_EQ(raind({"bottle", "create", "-f", write("ok.yaml", good).string()}).code, 0);
  auto again = raind({"bottle", "create", "-f", write("ok2.yaml", good).string()});
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.err.find("already exists"), std::string::npos) << again.err;
  EXPECT_EQ(inspect("ok-db").value("state", ""), "created");
  ASSERT_EQ(raind({"bottle", "rm", "ok"}).code, 0);
  expect_nothing_left();
  // A failure half-way (db created, then web's port is taken) removes what was made.
  run_detached({"--name", "squatter", "-p", "18080:80", "busybox:latest", "sleep", "1000"});
  std::string clash = shop_yaml("clash", true);
  clash.replace(clash.find("    env:"), 0, "    ports: [\"18080:80\"]\n");
  auto failed = raind({"bottle", "create", "-f", write("clash.yaml", clash).string()});
  EXPECT_NE(failed.code, 0);
  EXPECT_NE(failed.err.find("18080"), std::string::npos) << failed.err;
  EXPECT_NE(raind({"container", "inspect", "clash-db"}).code, 0) << "db was not rolled back";
  ASSERT_EQ(raind({"container", "rm", "-f", "squatter"}).code, 0);
  expect_nothing_left();
  // The audit trail names the refused creates.
  int refused = 0;
  for (const auto& a : daemon_->audit())
    if (a.value("action", "") == "bottle.create" && a["result"].value("status", "") != "allow")
      ++refused;
  EXPECT_GE(refused, static_cast<int>(cases.size()));
}

TEST_F(Bottles, ADaemonKilledDuringCreateLeavesTheBottleCompleteOrGone) {
  auto file = write("shop.yaml", shop_yaml("shop", true));
  for (const std::string point : {"bottle.create.recorded", "bottle.create.network",
                                  "bottle.create.container", "bottle.create.policies"}) {
    SCOPED_TRACE(point);
    daemon_->terminate();
    ASSERT_TRUE(start_daemon({"RAIND_TEST_CRASH_AT=" + point})) << daemon_->output();
    EXPECT_NE(raind({"bottle", "create", "-f", file.string()}).code, 0)
        << "the daemon should have died at " << point;
    daemon_->kill9();
    ASSERT_TRUE(start_daemon()) << daemon_->output();
    expect_nothing_left();
    auto rules = run({"iptables-save", "-t", "filter"});
    EXPECT_EQ(rules.out.find("-i rb-shop"), std::string::npos) << rules.out;
  }
  // And afterwards the same bottle is created whole.
  ASSERT_EQ(raind({"bottle", "create", "-f", file.string()}).code, 0) << daemon_->output();
  ASSERT_EQ(raind({"bottle", "rm", "shop"}).code, 0);
  expect_nothing_left();
}

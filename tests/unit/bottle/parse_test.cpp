#include <gtest/gtest.h>

#include "condenser/bottle/parse.hpp"

namespace raind::condenser::bottle {
namespace {

using Names = std::vector<std::string>;

// The example of the project README (WordPress + MySQL), verbatim.
constexpr std::string_view kSeedExample = R"(# bottle.yaml
bottle:
  name: wordpress
services:
  wp:
    image: wordpress
    env:
      - WORDPRESS_DB_HOST=db:3306
      - WORDPRESS_DB_USER=wordpress
      - WORDPRESS_DB_PASSWORD=wordpress
      - WORDPRESS_DB_NAME=wordpress
    ports:
      - "8080:80"
    depends_on:
      - db
  db:
    image: mysql
    env:
      - MYSQL_ROOT_PASSWORD=wordpress
      - MYSQL_DATABASE=wordpress
      - MYSQL_USER=wordpress
      - MYSQL_PASSWORD=wordpress
# allowed traffic
policies:
  - type: east-west
    source: wp
    destination: db
    protocol: tcp
    dest_port: 3306
    comment: "wp->db 3306/tcp: Allow Database Traffic"
)";

Result<Bottle> parse(std::string_view yaml, const ParseOptions& options = {}) {
  return parse_bottle(yaml, "b.yaml", options);
}

// The error must start with "b.yaml:<position>: " and contain `reason`.
void expect_error(std::string_view yaml, Errc code, std::string_view position,
                  std::string_view reason, const ParseOptions& options = {}) {
  auto bottle = parse(yaml, options);
  ASSERT_FALSE(bottle) << "parsed:\n" << yaml;
  const std::string message = bottle.error().what();
  EXPECT_EQ(bottle.error().code(), code) << message;
  const std::string prefix = fmt::format("b.yaml:{}: ", position);
  EXPECT_TRUE(message.starts_with(prefix)) << "expected prefix '" << prefix << "' in: " << message;
  EXPECT_NE(message.find(reason), std::string::npos)
      << "expected '" << reason << "' in: " << message;
}

TEST(BottleParse, SeedExample) {
  auto bottle = parse(kSeedExample);
  ASSERT_TRUE(bottle) << bottle.error().what();
  EXPECT_EQ(bottle->name, "wordpress");
  ASSERT_EQ(bottle->services.size(), 2u);
  // Services in name order.
  const Service& db = bottle->services[0];
  const Service& wp = bottle->services[1];
  EXPECT_EQ(db.name, "db");
  EXPECT_EQ(db.container, "wordpress-db");
  EXPECT_EQ(db.image, "mysql");
  EXPECT_EQ(db.env.size(), 4u);
  EXPECT_TRUE(db.depends_on.empty());
  EXPECT_EQ(wp.name, "wp");
  EXPECT_EQ(wp.container, "wordpress-wp");
  EXPECT_EQ(wp.image, "wordpress");
  EXPECT_EQ(wp.env.front(), "WORDPRESS_DB_HOST=db:3306");
  EXPECT_EQ(wp.ports, Names{"8080:80"});
  ASSERT_EQ(wp.depends_on.size(), 1u);
  EXPECT_EQ(wp.depends_on[0], (Dependency{"db", DependencyCondition::service_started}));
  EXPECT_FALSE(wp.tty);
  EXPECT_FALSE(wp.memory_bytes);
  EXPECT_FALSE(wp.healthcheck);
  EXPECT_EQ(wp.restart.to_string(), "no");

  EXPECT_EQ(bottle->start_order, (Names{"db", "wp"}));
  EXPECT_EQ(bottle->stop_order, (Names{"wp", "db"}));

  ASSERT_EQ(bottle->policies.size(), 1u);
  const BottlePolicy& p = bottle->policies[0];
  EXPECT_EQ(p.type, policy::PolicyType::east_west);
  EXPECT_EQ(p.source, "wordpress-wp");
  EXPECT_EQ(p.destination, "wordpress-db");
  EXPECT_EQ(p.source_service, "wp");
  EXPECT_EQ(p.destination_service, "db");
  EXPECT_EQ(p.protocol, "tcp");
  EXPECT_EQ(p.dport, 3306);
  EXPECT_EQ(p.comment, "wp->db 3306/tcp: Allow Database Traffic");

  auto engine = p.to_policy("01kgtyrrnrxvncpjcmjz2rtnm1", "bottle wordpress");
  EXPECT_TRUE(policy::validate_policy(engine));
  EXPECT_EQ(engine.source, "wordpress-wp");
  EXPECT_EQ(engine.dport, 3306);
  EXPECT_EQ(engine.reason, "bottle wordpress");
}

TEST(BottleParse, SeedExampleJson) {
  auto bottle = parse(kSeedExample);
  ASSERT_TRUE(bottle);
  auto json = bottle->to_json();
  EXPECT_EQ(json["name"], "wordpress");
  EXPECT_EQ(json["start_order"], nlohmann::json({"db", "wp"}));
  EXPECT_EQ(json["stop_order"], nlohmann::json({"wp", "db"}));
  ASSERT_EQ(json["services"].size(), 2u);
  const auto& wp = json["services"][1];
  EXPECT_EQ(wp["name"], "wp");
  EXPECT_EQ(wp["container"], "wordpress-wp");
  EXPECT_EQ(wp["image"], "wordpress");
  EXPECT_EQ(wp["ports"], nlohmann::json({"8080:80"}));
  EXPECT_EQ(wp["mount"], nlohmann::json::array());
  EXPECT_EQ(wp["command"], nlohmann::json::array());
  EXPECT_EQ(wp["network"], "");
  EXPECT_EQ(wp["tty"], false);
  EXPECT_EQ(wp["depends_on"],
            nlohmann::json::parse(R"([{"service":"db","condition":"service_started"}])"));
  EXPECT_TRUE(wp["memory"].is_null());
  EXPECT_TRUE(wp["cpus"].is_null());
  EXPECT_TRUE(wp["pids_limit"].is_null());
  EXPECT_EQ(wp["restart"], "no");
  EXPECT_TRUE(wp["healthcheck"].is_null());
  EXPECT_EQ(json["policies"], nlohmann::json::parse(R"([{
      "type": "ew", "source": "wordpress-wp", "destination": "wordpress-db",
      "source_service": "wp", "destination_service": "db", "protocol": "tcp",
      "dest_port": 3306, "comment": "wp->db 3306/tcp: Allow Database Traffic"}])"));
}

constexpr std::string_view kFull = R"(bottle:
  name: shop.v2
services:
  web:
    image: nginx:1.25
    command: ["nginx", "-g", "daemon off;"]
    env: ["API=api:8080", "MODE=prod"]
    ports: ["127.0.0.1:8080:80", "8443:443/tcp", "5353:53/udp"]
    mount: ["/srv/www:/usr/share/nginx/html:ro", "/srv/logs:/var/log/nginx"]
    network: shopnet
    tty: true
    memory: 64m
    cpus: 0.5
    pids_limit: 100
    restart: on-failure:3
    depends_on:
      api:
        condition: service_healthy
      cache: {condition: service_started}
      db:
  api:
    image: registry.local/api
    memory: 134217728
    restart: always
    healthcheck:
      command: ["/bin/check", "--quick"]
      interval: 500ms
      retries: 5
    depends_on: [db, cache]
  db:
    image: postgres
    healthcheck:
      command: ["pg_isready"]
  cache:
    image: redis
policies:
  - type: north-south_enforce
    source: web
    destination: 10.0.0.0/8
    protocol: udp
    dest_port: 53
  - type: north-south_observe
    source: api
    destination: 192.168.1.10
  - type: east-west
    source: web
    destination: shop.v2-api
    protocol: icmp
  - type: east-west
    source: monitor
    destination: db
)";

TEST(BottleParse, EveryField) {
  auto bottle = parse(kFull);
  ASSERT_TRUE(bottle) << bottle.error().what();
  EXPECT_EQ(bottle->start_order, (Names{"cache", "db", "api", "web"}));
  EXPECT_EQ(bottle->stop_order, (Names{"web", "api", "db", "cache"}));

  const Service* web = bottle->find_service("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->container, "shop.v2-web");
  EXPECT_EQ(web->image, "nginx:1.25");
  EXPECT_EQ(web->command, (Names{"nginx", "-g", "daemon off;"}));
  EXPECT_EQ(web->env, (Names{"API=api:8080", "MODE=prod"}));
  EXPECT_EQ(web->ports, (Names{"127.0.0.1:8080:80", "8443:443/tcp", "5353:53/udp"}));
  EXPECT_EQ(web->mounts, (Names{"/srv/www:/usr/share/nginx/html:ro", "/srv/logs:/var/log/nginx"}));
  EXPECT_EQ(web->network, "shopnet");
  EXPECT_TRUE(web->tty);
  EXPECT_EQ(web->memory_bytes, 64 * 1024 * 1024);
  EXPECT_EQ(web->cpus, 0.5);
  EXPECT_EQ(web->pids_limit, 100);
  EXPECT_EQ(web->restart.to_string(), "on-failure:3");
  EXPECT_EQ(web->depends_on,
            (std::vector<Dependency>{{"api", DependencyCondition::service_healthy},
                                     {"cache", DependencyCondition::service_started},
                                     {"db", DependencyCondition::service_started}}));
  EXPECT_TRUE(web->depends_on_service("db"));
  EXPECT_FALSE(web->depends_on_service("web"));

  const Service* api = bottle->find_service("api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->memory_bytes, 134217728);
  EXPECT_EQ(api->restart.to_string(), "always");
  ASSERT_TRUE(api->healthcheck);
  EXPECT_EQ(api->healthcheck->command, (Names{"/bin/check", "--quick"}));
  EXPECT_EQ(api->healthcheck->interval, std::chrono::milliseconds(500));
  EXPECT_EQ(api->healthcheck->retries, 5);
  EXPECT_EQ(api->depends_on, (std::vector<Dependency>{{"cache", {}}, {"db", {}}}));

  const Service* db = bottle->find_service("db");
  ASSERT_TRUE(db && db->healthcheck);
  EXPECT_EQ(db->healthcheck->interval, kDefaultHealthInterval);
  EXPECT_EQ(db->healthcheck->retries, kDefaultHealthRetries);
  EXPECT_EQ(bottle->find_service("nope"), nullptr);

  ASSERT_EQ(bottle->policies.size(), 4u);
  const auto& ns_enf = bottle->policies[0];
  EXPECT_EQ(ns_enf.type, policy::PolicyType::ns_enforce);
  EXPECT_EQ(ns_enf.source, "shop.v2-web");
  EXPECT_EQ(ns_enf.destination, "10.0.0.0/8");
  EXPECT_EQ(ns_enf.destination_service, "");
  EXPECT_EQ(ns_enf.protocol, "udp");
  EXPECT_EQ(ns_enf.dport, 53);
  const auto& ns_obs = bottle->policies[1];
  EXPECT_EQ(ns_obs.type, policy::PolicyType::ns_observe);
  EXPECT_EQ(ns_obs.protocol, "");
  EXPECT_EQ(ns_obs.dport, 0);
  // A service's container name resolves to the service like the service name does.
  const auto& icmp = bottle->policies[2];
  EXPECT_EQ(icmp.destination, "shop.v2-api");
  EXPECT_EQ(icmp.destination_service, "api");
  // Another container passes through.
  const auto& external = bottle->policies[3];
  EXPECT_EQ(external.source, "monitor");
  EXPECT_EQ(external.source_service, "");
  EXPECT_EQ(external.destination, "shop.v2-db");

  auto json = bottle->to_json();
  EXPECT_EQ(json["policies"][0]["type"], "ns-enf");
  EXPECT_EQ(json["policies"][1]["type"], "ns-obs");
  const auto& web_json = json["services"][3];
  EXPECT_EQ(web_json["name"], "web");
  EXPECT_EQ(web_json["memory"], 64 * 1024 * 1024);
  EXPECT_EQ(web_json["cpus"], 0.5);
  EXPECT_EQ(web_json["pids_limit"], 100);
  EXPECT_EQ(web_json["restart"], "on-failure:3");
  EXPECT_EQ(web_json["depends_on"][0]["condition"], "service_healthy");
  EXPECT_EQ(json["services"][0]["healthcheck"],
            nlohmann::json::parse(
                R"({"command":["/bin/check","--quick"],"interval_ms":500,"retries":5})"));
}

TEST(BottleParse, OrderIsDeterministicAndFollowsNames) {
  // Declared in reverse name order; independent services start in name order.
  constexpr std::string_view yaml = R"(bottle: {name: app}
services:
  zeta: {image: busybox}
  mid: {image: busybox, depends_on: [alpha]}
  beta: {image: busybox}
  alpha: {image: busybox}
  omega: {image: busybox, depends_on: [zeta, mid]}
)";
  auto first = parse(yaml);
  ASSERT_TRUE(first) << first.error().what();
  EXPECT_EQ(first->start_order, (Names{"alpha", "beta", "mid", "zeta", "omega"}));
  EXPECT_EQ(first->stop_order, (Names{"omega", "zeta", "mid", "beta", "alpha"}));
  for (int i = 0; i < 10; ++i) {
    auto again = parse(yaml);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *first);
    EXPECT_EQ(again->to_json().dump(), first->to_json().dump());
  }
}

TEST(BottleParse, DependsOnForms) {
  auto list = parse(R"(bottle: {name: app}
services:
  a: {image: x, depends_on: [c, b]}
  b: {image: x}
  c: {image: x, healthcheck: {command: [true]}}
)");
  ASSERT_TRUE(list) << list.error().what();
  EXPECT_EQ(list->find_service("a")->depends_on, (std::vector<Dependency>{{"b", {}}, {"c", {}}}));
  auto map = parse(R"(bottle: {name: app}
services:
  a:
    image: x
    depends_on:
      c: {condition: service_healthy}
      b: {}
  b: {image: x}
  c: {image: x, healthcheck: {command: [true]}}
)");
  ASSERT_TRUE(map) << map.error().what();
  EXPECT_EQ(map->find_service("a")->depends_on,
            (std::vector<Dependency>{{"b", DependencyCondition::service_started},
                                     {"c", DependencyCondition::service_healthy}}));
  auto empty = parse("bottle: {name: app}\nservices:\n  a: {image: x, depends_on: []}\n");
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->services[0].depends_on.empty());
}

TEST(BottleParse, HealthcheckIntervals) {
  for (auto [text, ms] : std::vector<std::pair<std::string, std::int64_t>>{
           {"250ms", 250}, {"1s", 1000}, {"30s", 30000}, {"2m", 120000}}) {
    auto bottle = parse(fmt::format(
        "bottle: {{name: app}}\nservices:\n  a:\n    image: x\n    healthcheck:\n      command: "
        "[check]\n      interval: {}\n",
        text));
    ASSERT_TRUE(bottle) << text << ": " << bottle.error().what();
    EXPECT_EQ(bottle->services[0].healthcheck->interval.count(), ms) << text;
  }
}

TEST(BottleParse, PolicyEndpointsAgainstExistingContainers) {
  constexpr std::string_view yaml = R"(bottle: {name: app}
services:
  web: {image: x}
policies:
  - type: east-west
    source: web
    destination: legacy-db
)";
  ParseOptions options;
  options.container_exists = [](std::string_view name) { return name == "legacy-db"; };
  auto bottle = parse(yaml, options);
  ASSERT_TRUE(bottle) << bottle.error().what();
  EXPECT_EQ(bottle->policies[0].destination, "legacy-db");
  options.container_exists = [](std::string_view) { return false; };
  expect_error(yaml, Errc::invalid_argument, "7:18", "unknown service or container 'legacy-db'",
               options);
}

// ---- errors, each with its position -----------------------------------------------------

TEST(BottleParseErrors, Syntax) {
  expect_error("bottle:\n  name: [app\nservices: {}\n", Errc::parse, "3:9", "");
  expect_error("bottle:\n  name: app\n services:\n", Errc::parse, "3:2", "end of map not found");
  expect_error("bottle: {name: app}\nservices:\n  a:\n    image: x\n   env: []\n", Errc::parse,
               "5:4", "end of map not found");
}

TEST(BottleParseErrors, EmptyOrMissingSections) {
  expect_error("", Errc::invalid_argument, "1:1", "the file is empty");
  expect_error("# only a comment\n", Errc::invalid_argument, "1:1", "the file is empty");
  expect_error("services:\n  a: {image: x}\n", Errc::invalid_argument, "1:1",
               "'bottle.name' is required");
  expect_error("bottle:\n  x: 1\n", Errc::parse, "2:3", "unknown key 'bottle.x'");
  expect_error("bottle: {}\nservices:\n  a: {image: x}\n", Errc::invalid_argument, "1:9",
               "'bottle.name' is required");
  expect_error("bottle: {name: app}\n", Errc::invalid_argument, "1:1",
               "'services' must name at least one service");
  expect_error("bottle: {name: app}\nservices: {}\n", Errc::invalid_argument, "2:11",
               "'services' must name at least one service");
  expect_error("bottle: {name: app}\nservices:\n", Errc::parse, "2:1", "'services' has no value");
  expect_error("- a\n- b\n", Errc::parse, "1:1", "must be a mapping");
}

TEST(BottleParseErrors, UnknownKeysAtEveryLevel) {
  expect_error("bottle: {name: app}\nservices:\n  a: {image: x}\nversion: 3\n", Errc::parse, "4:1",
               "unknown key 'version'");
  expect_error("bottle: {name: app, id: 3}\nservices:\n  a: {image: x}\n", Errc::parse, "1:21",
               "unknown key 'bottle.id'");
  expect_error("bottle: {name: app}\nservices:\n  a:\n    image: x\n    volumes: []\n", Errc::parse,
               "5:5", "unknown key 'services.a.volumes'");
  expect_error(
      "bottle: {name: app}\nservices:\n  a:\n    image: x\n    healthcheck:\n      command: [c]\n"
      "      timeout: 1s\n",
      Errc::parse, "7:7", "unknown key 'services.a.healthcheck.timeout'");
  expect_error(
      "bottle: {name: app}\nservices:\n  a:\n    image: x\n    depends_on:\n      b: {required: "
      "true}\n  b: {image: x}\n",
      Errc::parse, "6:11", "unknown key 'services.a.depends_on.b.required'");
  expect_error(
      "bottle: {name: app}\nservices:\n  a: {image: x}\npolicies:\n  - type: east-west\n"
      "    source: a\n    destination: b\n    port: 80\n",
      Errc::parse, "8:5", "unknown key 'policies[0].port'");
}

TEST(BottleParseErrors, DuplicateKeys) {
  expect_error("bottle: {name: app}\nservices:\n  a:\n    image: x\n    image: y\n", Errc::parse,
               "5:5", "duplicate key 'services.a.image'");
  expect_error("bottle: {name: app}\nservices:\n  a: {image: x}\n  a: {image: y}\n", Errc::parse,
               "4:3", "duplicate key 'services.a'");
}

TEST(BottleParseErrors, Names) {
  expect_error("bottle: {name: My-App}\nservices:\n  a: {image: x}\n", Errc::invalid_argument,
               "1:16", "must match [a-z0-9][a-z0-9_.-]{0,31}");
  expect_error("bottle: {name: -app}\nservices:\n  a: {image: x}\n", Errc::invalid_argument, "1:16",
               "bottle name '-app'");
  expect_error(
      fmt::format("bottle: {{name: {}}}\nservices:\n  a: {{image: x}}\n", std::string(33, 'a')),
      Errc::invalid_argument, "1:16", "bottle name");
  expect_error("bottle: {name: app}\nservices:\n  Web: {image: x}\n", Errc::invalid_argument, "3:3",
               "service name 'Web' must match [a-z0-9][a-z0-9_-]{0,31}");
  expect_error("bottle: {name: app}\nservices:\n  a.b: {image: x}\n", Errc::invalid_argument, "3:3",
               "service name 'a.b'");
  // Each part fits, but "<bottle>-<service>" would exceed the container name limit (63).
  expect_error(fmt::format("bottle: {{name: {}}}\nservices:\n  {}: {{image: x}}\n",
                           std::string(32, 'b'), std::string(32, 's')),
               Errc::invalid_argument, "3:3", "longer than 63");
}

TEST(BottleParseErrors, ServiceFields) {
  const std::string head = "bottle: {name: app}\nservices:\n  a:\n";
  auto bad = [&](std::string body, Errc code, std::string_view pos, std::string_view reason) {
    SCOPED_TRACE(body);
    expect_error(head + body, code, pos, reason);
  };
  bad("    command: [x]\n", Errc::invalid_argument, "3:3", "service 'a': 'image' is required");
  bad("    image: ''\n", Errc::invalid_argument, "4:12", "'services.a.image' must not be empty");
  bad("    image: [x]\n", Errc::parse, "4:12", "'services.a.image' must be a string");
  bad("    image: x\n    command: sh -c true\n", Errc::parse, "5:14",
      "'services.a.command' must be a list of strings");
  bad("    image: x\n    command: [sh, [x]]\n", Errc::parse, "5:19",
      "'services.a.command' must be a string");
  bad("    image: x\n    env: [A=1, NOVALUE]\n", Errc::invalid_argument, "5:16",
      "'NOVALUE' is not KEY=VALUE");
  bad("    image: x\n    env: {A: 1}\n", Errc::parse, "5:10", "must be a list of strings");
  bad("    image: x\n    ports: [\"8080:80\", \"\"]\n", Errc::invalid_argument, "5:24",
      "services.a.ports");
  bad("    image: x\n    ports: [\"80:99999\"]\n", Errc::invalid_argument, "5:13",
      "services.a.ports");
  bad("    image: x\n    ports: [8080]\n", Errc::invalid_argument, "5:13", "services.a.ports");
  bad("    image: x\n    mount: [\"data:/data\"]\n", Errc::invalid_argument, "5:13",
      "host path 'data' must be absolute");
  bad("    image: x\n    mount: [\"/data\"]\n", Errc::invalid_argument, "5:13", "services.a.mount");
  bad("    image: x\n    mount: [\"/d:/data:rx\"]\n", Errc::invalid_argument, "5:13",
      "services.a.mount");
  bad("    image: x\n    mount: [\"/d:data\"]\n", Errc::invalid_argument, "5:13",
      "services.a.mount");
  bad("    image: x\n    mount: [\"/d:/data\", \"/e:/data/\"]\n", Errc::invalid_argument, "5:25",
      "'/data' is mounted twice");
  bad("    image: x\n    network: this-name-is-too-long\n", Errc::invalid_argument, "5:14",
      "services.a.network");
  bad("    image: x\n    tty: yes\n", Errc::parse, "5:10",
      "'services.a.tty' must be true or false");
  bad("    image: x\n    memory: 64q\n", Errc::invalid_argument, "5:13", "memory size '64q'");
  bad("    image: x\n    memory: 1k\n", Errc::invalid_argument, "5:13", "below the minimum");
  bad("    image: x\n    memory: [1]\n", Errc::parse, "5:13",
      "'services.a.memory' must be a string");
  bad("    image: x\n    cpus: lots\n", Errc::parse, "5:11", "'services.a.cpus' must be a number");
  bad("    image: x\n    cpus: 0\n", Errc::invalid_argument, "5:11", "between 0.01 and 1024");
  bad("    image: x\n    pids_limit: 0\n", Errc::invalid_argument, "5:17", "between 1 and");
  bad("    image: x\n    pids_limit: 1.5\n", Errc::parse, "5:17",
      "'services.a.pids_limit' must be an integer");
  bad("    image: x\n    restart: sometimes\n", Errc::invalid_argument, "5:14",
      "restart policy 'sometimes'");
  bad("    image: x\n    restart: on-failure:0\n", Errc::invalid_argument, "5:14",
      "services.a.restart");
  bad("    image: x\n    healthcheck: {interval: 1s}\n", Errc::invalid_argument, "5:18",
      "'services.a.healthcheck.command' is required");
  bad("    image: x\n    healthcheck: {command: []}\n", Errc::invalid_argument, "5:28",
      "must name a program");
  bad("    image: x\n    healthcheck: {command: [c], interval: 5}\n", Errc::invalid_argument,
      "5:43", "duration '5'");
  bad("    image: x\n    healthcheck: {command: [c], interval: 1d}\n", Errc::invalid_argument,
      "5:43", "duration '1d'");
  bad("    image: x\n    healthcheck: {command: [c], retries: 0}\n", Errc::invalid_argument, "5:42",
      "'services.a.healthcheck.retries' must be between 1 and 1000");
  bad("    image: x\n    healthcheck: [c]\n", Errc::parse, "5:18",
      "'services.a.healthcheck' must be a mapping");
  bad("  - image: x\n", Errc::parse, "4:3", "'services.a' must be a mapping");
  bad("    image:\n", Errc::parse, "4:5", "'services.a.image' has no value");
  bad("    image: x\n    healthcheck:\n      command:\n", Errc::parse, "6:7",
      "'services.a.healthcheck.command' has no value");
}

TEST(BottleParseErrors, WrongSectionTypes) {
  expect_error("bottle: app\nservices:\n  a: {image: x}\n", Errc::parse, "1:9",
               "'bottle' must be a mapping");
  expect_error("bottle:\nservices:\n  a: {image: x}\n", Errc::parse, "1:1",
               "'bottle' has no value");
  expect_error("bottle: {name: [a]}\nservices:\n  a: {image: x}\n", Errc::parse, "1:16",
               "'bottle.name' must be a string");
  expect_error("bottle: {name: app}\nservices: [a, b]\n", Errc::parse, "2:11",
               "'services' must be a mapping of service names");
  expect_error("bottle: {name: app}\nservices:\n  a:\n", Errc::parse, "3:3",
               "'services.a' has no value");
  expect_error("bottle: {name: app}\nservices:\n  a: {image: x, depends_on: [[b]]}\n", Errc::parse,
               "3:30", "'services.a.depends_on' must be a string");
  expect_error("bottle: {name: app}\nservices:\n  a: {image: x}\npolicies: {type: ew}\n",
               Errc::parse, "4:11", "'policies' must be a list");
  expect_error(
      "bottle: {name: app}\nservices:\n  a: {image: x}\npolicies:\n  - {type: [ew], source: a, "
      "destination: b}\n",
      Errc::parse, "5:12", "'policies[0].type' must be a string");
}

TEST(BottleParseErrors, PortsConflictAcrossServices) {
  expect_error(
      "bottle: {name: app}\nservices:\n  a: {image: x, ports: [\"8080:80\"]}\n"
      "  b: {image: x, ports: [\"0.0.0.0:8080:81\"]}\n",
      Errc::invalid_argument, "4:25", "publishes the same host port as '8080:80'");
  // Different protocols do not conflict.
  EXPECT_TRUE(
      parse("bottle: {name: app}\nservices:\n  a: {image: x, ports: [\"53:53/udp\"]}\n"
            "  b: {image: x, ports: [\"53:53/tcp\"]}\n"));
}

TEST(BottleParseErrors, Dependencies) {
  expect_error("bottle: {name: app}\nservices:\n  a: {image: x, depends_on: [b]}\n",
               Errc::invalid_argument, "3:30",
               "invalid dependency: service 'a' depends on unknown service 'b'");
  expect_error("bottle: {name: app}\nservices:\n  a:\n    image: x\n    depends_on:\n      - a\n",
               Errc::invalid_argument, "6:9", "service 'a' depends on itself");
  expect_error(
      "bottle: {name: app}\nservices:\n  a: {image: x, depends_on: [b, b]}\n  b: {image: x}\n",
      Errc::invalid_argument, "3:33", "'b' is listed twice");
  expect_error("bottle: {name: app}\nservices:\n  a: {image: x, depends_on: b}\n", Errc::parse,
               "3:29", "must be a list of service names or a mapping");
  expect_error(
      "bottle: {name: app}\nservices:\n  a: {image: x, depends_on: {b: {condition: later}}}\n"
      "  b: {image: x}\n",
      Errc::invalid_argument, "3:45",
      "condition 'later' is not service_started or service_healthy");
  expect_error(
      "bottle: {name: app}\nservices:\n  a: {image: x, depends_on: {b: service_healthy}}\n"
      "  b: {image: x}\n",
      Errc::parse, "3:33", "'services.a.depends_on.b' must be a mapping");
}

TEST(BottleParseErrors, HealthyConditionNeedsAHealthcheck) {
  expect_error(
      "bottle: {name: app}\nservices:\n  web:\n    image: x\n    depends_on:\n      db:\n"
      "        condition: service_healthy\n  db: {image: y}\n",
      Errc::invalid_argument, "7:20",
      "service 'web' waits for 'db' to be healthy, but 'db' has "
      "no healthcheck");
}

TEST(BottleParseErrors, CycleNamesItsPath) {
  // The error points at the dependency entry that starts the reported path (c's "a").
  expect_error(R"(bottle: {name: app}
services:
  c: {image: x, depends_on: [a]}
  b: {image: x, depends_on: [c]}
  a: {image: x, depends_on: [b]}
  d: {image: x, depends_on: [a]}
)",
               Errc::invalid_argument, "5:30", "dependency cycle: a -> b -> c -> a");
  expect_error(R"(bottle: {name: app}
services:
  x: {image: i, depends_on: {y: {}}}
  y: {image: i, depends_on: [x]}
)",
               Errc::invalid_argument, "3:30", "dependency cycle: x -> y -> x");
}

TEST(BottleParseErrors, Policies) {
  const std::string head =
      "bottle: {name: app}\nservices:\n  web: {image: x}\n  db: {image: y}\npolicies:\n";
  auto bad = [&](std::string body, Errc code, std::string_view pos, std::string_view reason) {
    SCOPED_TRACE(body);
    expect_error(head + body, code, pos, reason);
  };
  bad("  type: east-west\n", Errc::parse, "6:3", "'policies' must be a list");
  bad("  - east-west\n", Errc::parse, "6:5", "'policies[0]' must be a mapping");
  bad("  - {type: west, source: web, destination: db}\n", Errc::invalid_argument, "6:12",
      "'west' is not east-west, north-south_observe or north-south_enforce");
  bad("  - {source: web, destination: db}\n", Errc::invalid_argument, "6:5",
      "'policies[0].type' is required");
  bad("  - {type: east-west, destination: db}\n", Errc::invalid_argument, "6:5",
      "'policies[0].source' is required");
  bad("  - {type: east-west, source: web}\n", Errc::invalid_argument, "6:5",
      "'policies[0].destination' is required");
  // A reference into this bottle's namespace that names no service.
  bad("  - {type: east-west, source: web, destination: app-dbx}\n", Errc::invalid_argument, "6:49",
      "unknown service 'dbx'");
  bad("  - {type: east-west, source: app-wbe, destination: db}\n", Errc::invalid_argument, "6:31",
      "unknown service 'wbe'");
  // Neither a service nor anything that could be a container name.
  bad("  - {type: east-west, source: web, destination: \"d b\"}\n", Errc::invalid_argument, "6:49",
      "'d b' is neither a service nor a container name");
  bad("  - {type: east-west, source: web, destination: 10.0.0.1}\n", Errc::invalid_argument, "6:49",
      "'10.0.0.1' is an address");
  bad("  - {type: east-west, source: web, destination: 10.0.0.0/8}\n", Errc::invalid_argument,
      "6:49", "is an address");
  bad("  - {type: east-west, source: web, destination: app-web}\n", Errc::invalid_argument, "6:49",
      "does not need a policy to reach itself");
  bad("  - {type: north-south_observe, source: web, destination: db}\n", Errc::invalid_argument,
      "6:59",
      "'db' is not an IPv4 address or CIDR (north-south policies name addresses; use "
      "east-west between services)");
  bad("  - {type: north-south_enforce, source: web, destination: 10.0.0.1/8}\n",
      Errc::invalid_argument, "6:59", "is not an IPv4 address or CIDR");
  bad("  - {type: north-south_enforce, source: web, destination: example.com}\n",
      Errc::invalid_argument, "6:59", "'example.com' is not an IPv4 address or CIDR");
  bad("  - {type: east-west, source: web, destination: db, protocol: sctp}\n",
      Errc::invalid_argument, "6:63", "'sctp' is not tcp, udp or icmp");
  bad("  - {type: east-west, source: web, destination: db, dest_port: 80}\n",
      Errc::invalid_argument, "6:64", "'policies[0].dest_port' needs protocol tcp or udp");
  bad("  - {type: east-west, source: web, destination: db, protocol: icmp, dest_port: 80}\n",
      Errc::invalid_argument, "6:80", "needs protocol tcp or udp (not icmp)");
  bad("  - {type: east-west, source: web, destination: db, protocol: tcp, dest_port: 0}\n",
      Errc::invalid_argument, "6:79", "between 1 and 65535");
  bad("  - {type: east-west, source: web, destination: db, protocol: tcp, dest_port: 65536}\n",
      Errc::invalid_argument, "6:79", "between 1 and 65535");
  bad("  - {type: east-west, source: web, destination: db, protocol: tcp, dest_port: http}\n",
      Errc::parse, "6:79", "must be an integer");
  bad(fmt::format("  - {{type: east-west, source: web, destination: db, comment: {}}}\n",
                  std::string(300, 'c')),
      Errc::invalid_argument, "6:62", "at most 256 printable characters");
  bad("  - {type: east-west, source: web, destination: db}\n"
      "  - {type: east-west, source: app-web, destination: db}\n",
      Errc::invalid_argument, "7:5", "'policies[1]' repeats policies[0]");
  // The second policy is the bad one: the index is named.
  bad("  - {type: east-west, source: web, destination: db}\n"
      "  - {type: east-west, source: web, destination: db, protocol: tcp, dport: 1}\n",
      Errc::parse, "7:68", "unknown key 'policies[1].dport'");
}

TEST(BottleParseErrors, PoliciesAreCheckedAfterServicesWhateverTheKeyOrder) {
  auto bottle = parse(R"(policies:
  - {type: east-west, source: web, destination: db}
bottle: {name: app}
services:
  web: {image: x}
  db: {image: y}
)");
  ASSERT_TRUE(bottle) << bottle.error().what();
  EXPECT_EQ(bottle->policies[0].destination, "app-db");
}

}  // namespace
}  // namespace raind::condenser::bottle

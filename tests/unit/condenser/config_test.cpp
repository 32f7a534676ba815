#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "condenser/config/config.hpp"

using namespace raind::condenser;

TEST(Config, EmptyTextGivesDefaults) {
  auto c = parse_config("");
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->state_dir, "/var/lib/raind");
  EXPECT_EQ(c->management.str(), "127.0.0.1:7755");
  EXPECT_EQ(c->hooks.str(), "127.0.0.1:7756");
  EXPECT_EQ(c->ca.str(), "127.0.0.1:7757");
  EXPECT_EQ(c->hooks_socket_path(), "/run/raind/hooks.sock");
  EXPECT_EQ(c->audit_path(), "/var/log/raind/raind_audit.jsonl");
  EXPECT_EQ(c->limits.body_bytes, 1024u * 1024u);
}

TEST(Config, OverridesEveryPathAndAddress) {
  auto c = parse_config(R"(state_dir: /t/state
run_dir: /t/run
log_dir: /t/log
pki_dir: /t/pki
log_level: debug
listen:
  management: 127.0.0.1:0
  hooks: "[::1]:9000"
  hooks_socket: /t/h.sock
  ca: localhost:7001
limits:
  body_bytes: 2048
  request_timeout_s: 3
)");
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->db_path(), "/t/state/raind.db");
  EXPECT_EQ(c->management.port, 0);
  EXPECT_EQ(c->hooks.host, "::1");
  EXPECT_EQ(c->hooks.str(), "[::1]:9000");
  EXPECT_EQ(c->ca.host, "127.0.0.1");
  EXPECT_EQ(c->hooks_socket_path(), "/t/h.sock");
  EXPECT_EQ(c->limits.body_bytes, 2048u);
  EXPECT_EQ(c->limits.request_timeout_s, 3u);
  EXPECT_EQ(c->log_level, "debug");
}

TEST(Config, UnknownTopLevelKeyNamesLineAndColumn) {
  auto c = parse_config("state_dir: /x\nbogus: 1\n", "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "f.yaml:2:1: unknown key 'bogus'");
}

TEST(Config, UnknownNestedKeyNamesSectionLineAndColumn) {
  auto c = parse_config("listen:\n  management: 127.0.0.1:1\n  admin: 1.2.3.4:5\n", "f.yaml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().message(), "f.yaml:3:3: unknown key 'listen.admin'");
}

TEST(Config, WrongTypesAndValuesAreErrors) {
  EXPECT_FALSE(parse_config("limits:\n  body_bytes: lots\n"));
  EXPECT_FALSE(parse_config("limits:\n  body_bytes: -1\n"));
  EXPECT_FALSE(parse_config("state_dir: relative/path\n"));
  EXPECT_FALSE(parse_config("state_dir: [a, b]\n"));
  EXPECT_FALSE(parse_config("listen:\n  management: 127.0.0.1\n"));
  EXPECT_FALSE(parse_config("listen:\n  management: 127.0.0.1:70000\n"));
  EXPECT_FALSE(parse_config("listen:\n  management: nosuchhost:1\n"));
  EXPECT_FALSE(parse_config("log_level: loud\n"));
  EXPECT_FALSE(parse_config("listen: 5\n"));
  auto bad = parse_config("a: [1,\n", "x.yaml");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("x.yaml:"), std::string::npos);
}

TEST(Config, ShippedDefaultConfigParsesToDefaults) {
  std::ifstream in(std::string(RAIND_SOURCE_DIR) + "/systemd/condenserd.yaml");
  ASSERT_TRUE(in);
  std::stringstream s;
  s << in.rdbuf();
  auto c = parse_config(s.str());
  ASSERT_TRUE(c) << c.error().what();
  Config d;
  EXPECT_EQ(c->state_dir, d.state_dir);
  EXPECT_EQ(c->management.str(), d.management.str());
  EXPECT_EQ(c->hooks_socket_path(), d.hooks_socket_path());
  EXPECT_EQ(c->limits.max_connections, d.limits.max_connections);
  EXPECT_EQ(c->audit.max_bytes, d.audit.max_bytes);
  EXPECT_EQ(c->runtime.cgroup_parent, d.runtime.cgroup_parent);
  EXPECT_EQ(c->runtime.stop_timeout_s, d.runtime.stop_timeout_s);
  EXPECT_EQ(c->auth_file(), d.auth_file());
  EXPECT_EQ(c->images.certs_dir, d.images.certs_dir);
  EXPECT_EQ(c->images.max_concurrent_downloads, d.images.max_concurrent_downloads);
  EXPECT_EQ(c->images.timeout_s, d.images.timeout_s);
}

TEST(Config, LoadMissingFile) {
  EXPECT_TRUE(load_config("/nonexistent/condenserd.yaml", true));
  EXPECT_FALSE(load_config("/nonexistent/condenserd.yaml", false));
}

TEST(Config, ImagesSection) {
  auto defaults = parse_config("state_dir: /srv/raind\n");
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->auth_file(), "/srv/raind/auth.json");
  EXPECT_EQ(defaults->images.max_concurrent_downloads, 3u);
  auto c = parse_config(
      "images:\n  auth_file: /etc/raind/auth.json\n  certs_dir: /etc/raind/certs.d\n"
      "  registry_mirrors: [\"https://mirror.example:5000\"]\n"
      "  insecure_registries: [\"127.0.0.1:5000\", localhost]\n"
      "  max_concurrent_downloads: 6\n  timeout_s: 5\n");
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->auth_file(), "/etc/raind/auth.json");
  EXPECT_EQ(c->images.registry_mirrors, std::vector<std::string>{"https://mirror.example:5000"});
  EXPECT_EQ(c->images.insecure_registries,
            (std::vector<std::string>{"127.0.0.1:5000", "localhost"}));
  EXPECT_EQ(c->images.max_concurrent_downloads, 6u);
  EXPECT_EQ(c->images.timeout_s, 5u);
  for (const char* bad :
       {"images:\n  registry_mirrors: [mirror.example]\n",
        "images:\n  insecure_registries: [\"http://x:5000/\"]\n",
        "images:\n  insecure_registries: x\n", "images:\n  max_concurrent_downloads: 0\n",
        "images:\n  auth_file: relative.json\n", "images:\n  mirrors: []\n"}) {
    auto r = parse_config(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().what().find("images"), std::string::npos) << r.error().what();
    }
  }
}

TEST(Config, RuntimeSection) {
  auto c = parse_config(
      "runtime:\n  droplet: /opt/droplet\n  cgroup_parent: raind/ctrs\n"
      "  nameservers: [10.0.0.53, 192.0.2.1]\n  stop_timeout_s: 3\n");
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->runtime.droplet, "/opt/droplet");
  EXPECT_EQ(c->runtime.cgroup_parent, "raind/ctrs");
  EXPECT_EQ(c->runtime.nameservers, (std::vector<std::string>{"10.0.0.53", "192.0.2.1"}));
  EXPECT_EQ(c->runtime.stop_timeout_s, 3u);
  EXPECT_EQ(c->runtime.iptables, "auto");
  auto legacy = parse_config("runtime:\n  iptables: legacy\n");
  ASSERT_TRUE(legacy);
  EXPECT_EQ(legacy->runtime.iptables, "legacy");
  for (const char* bad :
       {"runtime:\n  iptables: ebtables\n", "runtime:\n  cgroup_parent: /abs\n",
        "runtime:\n  cgroup_parent: a/../b\n", "runtime:\n  nameservers: [dns.example]\n",
        "runtime:\n  nameservers: 10.0.0.1\n", "runtime:\n  droplet: rel\n",
        "runtime:\n  unknown: 1\n"}) {
    auto r = parse_config(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().what().find("runtime"), std::string::npos) << r.error().what();
    }
  }
}

namespace raind::condenser {
namespace {

TEST(Config, ObservabilitySections) {
  auto defaults = parse_config("");
  ASSERT_TRUE(defaults);
  EXPECT_TRUE(defaults->flowlog.enabled);
  EXPECT_EQ(defaults->flowlog.input, "managed");
  EXPECT_TRUE(defaults->dns.enabled);
  EXPECT_EQ(defaults->dns.address, "10.166.254.254");
  EXPECT_TRUE(defaults->dns.upstreams.empty());  // the host's resolv.conf
  EXPECT_EQ(defaults->metrics.interval_s, 10u);
  EXPECT_EQ(defaults->netflow_log_path(), "/var/log/raind/raind_netflow.jsonl");
  auto c = parse_config(
      "flowlog:\n  input: file:/var/log/ulog/raind.jsonl\n  max_bytes: 1048576\n  max_files: 2\n"
      "dns:\n  address: 10.166.254.253\n  upstreams: [198.51.100.2, \"192.0.2.1:5353\"]\n"
      "  timeout_ms: 500\n  cache_size: 0\n"
      "metrics:\n  interval_s: 2\n");
  ASSERT_TRUE(c) << c.error().what();
  EXPECT_EQ(c->flowlog.input, "file:/var/log/ulog/raind.jsonl");
  EXPECT_EQ(c->flowlog.max_files, 2u);
  EXPECT_EQ(c->dns.address, "10.166.254.253");
  EXPECT_EQ(c->dns.upstreams, (std::vector<std::string>{"198.51.100.2", "192.0.2.1:5353"}));
  EXPECT_EQ(c->dns.timeout_ms, 500u);
  EXPECT_EQ(c->dns.cache_size, 0u);
  EXPECT_EQ(c->metrics.interval_s, 2u);
  for (const char* bad :
       {"flowlog:\n  input: file:relative\n", "flowlog:\n  input: tcp\n",
        "flowlog:\n  enabled: yes-please\n", "dns:\n  address: 10.166.254\n",
        "dns:\n  upstreams: [8.8.8.8:0]\n", "dns:\n  upstreams: [\"resolver.example\"]\n",
        "dns:\n  address: \"10.166.254.254:53\"\n", "dns:\n  timeout_ms: 1\n",
        "metrics:\n  period: 3\n"}) {
    auto r = parse_config(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_NE(r.error().what().find("<config>:"), std::string::npos) << r.error().what();
    }
  }
}

}  // namespace
}  // namespace raind::condenser

#pragma once
// condenserd configuration (/etc/raind/condenserd.yaml). Parsing is a pure function of the text so
// it is unit-testable; unknown keys and wrong types are errors that name line:column.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "raind/error.hpp"

namespace raind::condenser {

inline constexpr std::string_view kDefaultConfigPath = "/etc/raind/condenserd.yaml";

struct ListenAddress {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;  // 0: the kernel picks one (tests); see run_dir/listeners.json
  std::string str() const;
};

struct Limits {
  std::uint32_t header_bytes = 16 * 1024;
  std::uint64_t body_bytes = 1024 * 1024;  // default per-route body limit
  std::uint32_t request_timeout_s = 10;    // a started request must be complete within this
  std::uint32_t idle_timeout_s = 60;       // keep-alive gap between requests
  std::uint32_t max_connections = 256;     // per listener
  std::uint32_t shutdown_timeout_s = 10;   // SIGTERM drain deadline
};

struct AuditConfig {
  std::uint64_t max_bytes = 50ull * 1024 * 1024;
  std::uint32_t max_files = 5;
};

// How condenserd runs containers.
struct RuntimeConfig {
  std::filesystem::path droplet;         // empty: next to condenserd, else /usr/local/bin/droplet
  std::filesystem::path policies_dir;    // empty: <prefix>/share/raind/policies or the source tree
  std::string cgroup_parent = "raind";   // relative to condenserd's own cgroup in each hierarchy
  std::vector<std::string> nameservers;  // empty: the host's non-loopback resolvers
  std::uint32_t stop_timeout_s = 10;     // default grace period of `stop`
  // iptables backend for every rule condenserd writes: auto (the one the host already uses,
  // nf_tables when neither has rules), nft or legacy.
  std::string iptables = "auto";
};

// Registries and the image store.
struct ImagesConfig {
  std::filesystem::path auth_file;  // docker config.json format; empty: <state_dir>/auth.json
  std::filesystem::path certs_dir = "/etc/raind/certs.d";  // <host[:port]>/*.crt trusted
  std::vector<std::string> registry_mirrors;               // http(s) URLs tried before Docker Hub
  std::vector<std::string> insecure_registries;            // host[:port]: plain HTTP allowed
  std::uint32_t max_concurrent_downloads = 3;
  std::uint32_t timeout_s = 30;  // connect and per-read/write deadline
};

// Flow logs: NFLOG → ulogd2 → condenserd → enriched JSON lines.
struct FlowlogConfig {
  bool enabled = true;
  // "managed": condenserd runs ulogd2 itself (in its own network namespace, where the RAIND
  // chains are) and receives its records over a unix socket; "file:/path": an externally
  // managed ulogd2 writes JSON lines to /path, which condenserd tails; "listen": the socket
  // (<run_dir>/flowlog/ulogd.sock) for a ulogd2 someone else runs.
  std::string input = "managed";
  std::filesystem::path ulogd = "/usr/sbin/ulogd";
  std::filesystem::path plugin_dir = "/usr/lib/x86_64-linux-gnu/ulogd";
  std::uint64_t max_bytes = 50ull * 1024 * 1024;  // rotation of every raind_*.jsonl log
  std::uint32_t max_files = 5;
};

// The DNS proxy every container resolves through.
struct DnsConfig {
  bool enabled = true;
  std::string address = "10.166.254.254";  // on the dummy interface raindDns
  std::vector<std::string> upstreams;      // ip[:port]; empty: the host's resolv.conf
  std::uint32_t timeout_ms = 1500;         // per upstream try
  std::uint32_t cache_size = 10000;        // entries; 0 disables the cache
};

struct MetricsConfig {
  std::uint32_t interval_s = 10;  // 0 disables the metrics log
};

struct Config {
  std::filesystem::path state_dir = "/var/lib/raind";
  std::filesystem::path run_dir = "/run/raind";
  std::filesystem::path log_dir = "/var/log/raind";
  std::filesystem::path pki_dir = "/etc/raind/pki";
  std::string log_level = "info";
  ListenAddress management{"127.0.0.1", 7755};
  ListenAddress hooks{"127.0.0.1", 7756};
  std::filesystem::path hooks_socket;  // empty: <run_dir>/hooks.sock
  ListenAddress ca{"127.0.0.1", 7757};
  Limits limits;
  AuditConfig audit;
  RuntimeConfig runtime;
  ImagesConfig images;
  FlowlogConfig flowlog;
  DnsConfig dns;
  MetricsConfig metrics;

  std::filesystem::path db_path() const { return state_dir / "raind.db"; }
  std::filesystem::path auth_file() const {
    return images.auth_file.empty() ? state_dir / "auth.json" : images.auth_file;
  }
  std::filesystem::path audit_path() const { return log_dir / "raind_audit.jsonl"; }
  std::filesystem::path netflow_log_path() const { return log_dir / "raind_netflow.jsonl"; }
  std::filesystem::path dns_log_path() const { return log_dir / "raind_dns.jsonl"; }
  std::filesystem::path metrics_log_path() const { return log_dir / "raind_metrics.jsonl"; }
  std::filesystem::path hooks_socket_path() const {
    return hooks_socket.empty() ? run_dir / "hooks.sock" : hooks_socket;
  }
  std::filesystem::path listeners_file() const { return run_dir / "listeners.json"; }
};

// "host:port" with an IPv4/IPv6 literal or "localhost"; port 0..65535.
Result<ListenAddress> parse_listen_address(std::string_view text);
// Parses YAML text; `origin` names the source in error messages. Empty text gives defaults.
Result<Config> parse_config(std::string_view text, std::string_view origin = "<config>");
// Reads and parses a file. A missing file yields defaults only when `missing_ok`.
Result<Config> load_config(const std::filesystem::path& path, bool missing_ok);

}  // namespace raind::condenser

#pragma once
// Test harness for condenserd integration tests: runs the real binary on loopback with ephemeral
// ports and a temp root, mints client certificates with OpenSSL, and talks raw HTTPS so tests can
// send exactly the bytes they want (malformed, oversized, partial).
#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "condenser/pki/pki.hpp"

namespace raind::testing {

std::filesystem::path bin_dir();
// A fresh directory under RAIND_TEST_ROOT (sandbox) or /tmp; removed on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& tag);
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct Identity {
  std::string cert_pem;  // empty: present no client certificate
  std::string key_pem;
  std::string fingerprint;
};

class Daemon {
 public:
  // extra_yaml is appended to the generated config (e.g. a "limits:" block).
  explicit Daemon(std::filesystem::path root, std::string extra_yaml = {});
  ~Daemon();
  // Starts condenserd and waits for listeners.json. Returns false (with output) on failure.
  bool start(std::vector<std::string> env = {});
  void kill9();
  int terminate();  // SIGTERM, wait, return exit code (or 128+signal)
  pid_t pid() const { return pid_; }

  std::string management() const { return listeners_.value("management", ""); }
  std::string hooks() const { return listeners_.value("hooks", ""); }
  std::string hooks_socket() const { return listeners_.value("hooks_socket", ""); }
  std::string ca() const { return listeners_.value("ca", ""); }
  std::filesystem::path root() const { return root_; }
  std::filesystem::path pki_dir() const { return root_ / "pki"; }
  std::filesystem::path config_path() const { return root_ / "condenserd.yaml"; }
  std::filesystem::path audit_path() const { return root_ / "log/raind_audit.jsonl"; }
  std::filesystem::path db_path() const { return root_ / "state/raind.db"; }
  std::string output() const;  // condenserd's stderr/stdout so far

  // Client identities minted with the daemon's CA.
  Identity cli_identity() const;  // the generated cli.crt/cli.key
  Identity hook_identity() const;
  Identity mint(const std::vector<std::string>& uris, bool server_eku = false) const;
  std::string ca_pem() const;

  std::vector<nlohmann::json> audit() const;
  // Waits until the audit log holds at least n records; returns them.
  std::vector<nlohmann::json> wait_audit(
      std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

 private:
  std::filesystem::path root_;
  std::string extra_yaml_;
  pid_t pid_ = -1;
  nlohmann::json listeners_;
};

// An identity from a CA the daemon never saw.
Identity foreign_identity(const std::vector<std::string>& uris);

struct Reply {
  bool connected = false;
  bool handshake = false;  // client-side TLS handshake completed
  bool response = false;   // an HTTP response arrived
  unsigned status = 0;
  std::string body;
  std::string connection;  // Connection header
  std::string error;       // transport error text
  nlohmann::json json() const { return nlohmann::json::parse(body, nullptr, false); }
};

struct Target {
  std::string tcp;   // "127.0.0.1:port"
  std::string unix;  // socket path
};

// Connects, optionally presents `id`, sends `raw` bytes, then reads one response.
// `then_wait`: keep the connection open (sending nothing more) while waiting for the answer.
Reply exchange(const Target& target, const Identity& id, const std::string& ca_pem,
               const std::string& raw,
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
std::string http_request(const std::string& method, const std::string& path,
                         const std::string& body = {},
                         const std::vector<std::string>& headers = {});
Reply call(const Target& target, const Identity& id, const std::string& ca_pem,
           const std::string& method, const std::string& path, const std::string& body = {},
           const std::vector<std::string>& headers = {});

struct Run {
  int code = -1;
  std::string out;
  std::string err;
};
Run run(const std::vector<std::string>& argv, const std::vector<std::string>& env = {});

// dir/evil.tar: a docker-archive ("evil:latest") whose one layer tries to write ../escape.
std::filesystem::path write_hostile_docker_archive(const std::filesystem::path& dir);

}  // namespace raind::testing

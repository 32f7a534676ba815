#pragma once
// OCI distribution client: manifests and blobs from a registry with anonymous, basic or
// bearer-token auth, redirects, keep-alive connection reuse, retries with backoff and
// Range-resumed blob downloads. Thread-safe: pull workers share one client (its connection pool
// and token cache); each call is blocking.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "condenser/registry/auth.hpp"
#include "condenser/registry/http_connection.hpp"
#include "condenser/registry/url.hpp"
#include "raind/error.hpp"

namespace raind::condenser::registry {

// All four manifest types: without OCI the registry hides OCI manifests (404), without v2s2 it
// downgrades Docker images to schema 1.
inline constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

struct ClientOptions {
  // host[:port] of registries that may be reached over plain HTTP or TLS without verification.
  std::vector<std::string> insecure_registries;
  // Base URLs tried before Docker Hub (registry-1.docker.io), in order.
  std::vector<std::string> registry_mirrors;
  // <certs_dir>/<host[:port]>/*.crt are trusted for that registry (docker's certs.d layout).
  std::filesystem::path certs_dir;
  // Credentials by registry; called for every new challenge, so logins apply at once.
  std::function<std::optional<Credentials>(std::string_view registry)> credentials;
  TransportOptions transport;
  unsigned max_attempts = 4;  // per request, for connection errors, 5xx and 429
  std::chrono::milliseconds first_backoff{200};
  std::string user_agent = "raind";
};

// Where a repository is fetched from: the registry itself or one of its mirrors.
struct Endpoint {
  std::string registry;  // the name the image is known by (credentials, token scope)
  Url base;              // scheme://host:port, target "/" (or a mirror's path prefix)
  bool verify_tls = true;
  bool mirror = false;
  std::string display() const { return base.origin(); }
};

struct FetchedManifest {
  std::string media_type;  // Content-Type (parameters stripped)
  std::string digest;      // sha256 of the body as received
  std::string body;
};

// Called with the bytes of a blob written so far and its total size.
using BlobProgress = std::function<Status(std::uint64_t written, std::uint64_t total)>;

class RegistryClient {
 public:
  explicit RegistryClient(ClientOptions options);
  ~RegistryClient();

  bool is_insecure(std::string_view registry) const;
  // Mirrors first (Docker Hub only), then the registry.
  std::vector<Endpoint> endpoints(std::string_view registry) const;

  // GET /v2/ with the given credentials (not the stored ones): ok when they are accepted.
  Status check_login(const Endpoint& endpoint, const Credentials& credentials);

  Result<FetchedManifest> get_manifest(const Endpoint& endpoint, std::string_view repository,
                                       std::string_view reference,
                                       std::uint64_t max_bytes = 4u << 20);
  // Small blob (config) into memory; digest and size verified.
  Result<std::string> get_blob(const Endpoint& endpoint, std::string_view repository,
                               std::string_view digest, std::int64_t size,
                               std::uint64_t max_bytes = 16u << 20);
  // Streams a blob into `partial`, resuming from its current length with Range after a broken
  // transfer (also one left by an earlier attempt), verifying size and digest at the end. On a
  // digest or size mismatch the partial file is removed. `cancelled` is polled between chunks.
  Status download_blob(const Endpoint& endpoint, std::string_view repository,
                       std::string_view digest, std::int64_t size,
                       const std::filesystem::path& partial, const BlobProgress& progress,
                       const std::atomic<bool>* cancelled = nullptr);

  // Drops cached tokens and basic credentials (after a logout).
  void forget_credentials();

 private:
  struct Reply;
  // One request with auth, redirects and retries; the body is left for the caller to read
  // from reply.connection, which goes back to the pool through give_back().
  Result<Reply> request(const Endpoint& endpoint, std::string_view repository,
                        std::string_view method, const std::string& target, HeaderList headers,
                        std::optional<Credentials> forced = std::nullopt);
  Result<Reply> request_once(const Endpoint& endpoint, std::string_view repository,
                             std::string_view method, const std::string& target,
                             const HeaderList& headers, const std::optional<Credentials>& forced);
  Status authenticate(const Endpoint& endpoint, std::string_view repository,
                      const std::string& challenge_header,
                      const std::optional<Credentials>& credentials);
  std::optional<std::string> cached_authorization(const Endpoint& endpoint,
                                                  std::string_view repository);
  Result<std::unique_ptr<HttpConnection>> connection(const Url& origin, bool verify_tls,
                                                     const std::string& registry);
  void give_back(std::unique_ptr<HttpConnection> connection);
  std::string trusted_ca(const std::string& registry);
  void backoff(unsigned attempt);

  ClientOptions options_;
  std::mutex mutex_;  // guards the members below
  std::multimap<std::string, std::unique_ptr<HttpConnection>> idle_;
  struct CachedAuth {
    std::string authorization;  // header value
    std::chrono::steady_clock::time_point expires;
  };
  std::map<std::string, CachedAuth> auth_cache_;         // "<origin> <repository>"
  std::map<std::string, std::string> basic_registries_;  // origin -> "Basic …" that worked
  std::map<std::string, std::string> ca_cache_;          // registry -> PEM
};

// Splits "type/subtype; charset=…" → "type/subtype".
std::string media_type_of(std::string_view content_type);
// "bytes 100-199/1000" → first byte position.
std::optional<std::uint64_t> content_range_start(std::string_view header);

}  // namespace raind::condenser::registry

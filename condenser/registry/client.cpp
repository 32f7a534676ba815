#include "condenser/registry/client.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "condenser/images/reference.hpp"
#include "condenser/images/sha256_stream.hpp"
#include "raind/log.hpp"
#include "raind/sys/files.hpp"
#include "raind/unique_fd.hpp"

namespace raind::condenser::registry {
namespace fs = std::filesystem;

struct RegistryClient::Reply {
  ResponseHead head;
  std::unique_ptr<HttpConnection> connection;
  Url url;
};

namespace {

bool retryable_status(unsigned status) {
  return status == 429 || status == 502 || status == 503 || status == 504 || status == 500;
}

bool is_redirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// The registry's JSON error body, shortened: {"errors":[{"code","message"}]}.
std::string error_summary(std::string_view body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_discarded() && doc.is_object() && doc.contains("errors") &&
      doc["errors"].is_array()) {
    std::string out;
    for (const auto& e : doc["errors"]) {
      if (!e.is_object()) continue;
      if (!out.empty()) out += "; ";
      out += e.value("code", std::string("ERROR")) + ": " + e.value("message", std::string());
    }
    if (!out.empty()) return out;
  }
  std::string text(body.substr(0, 200));
  std::replace(text.begin(), text.end(), '\n', ' ');
  return text;
}

std::string join_target(const Url& base, std::string_view target) {
  std::string prefix = base.target;
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return prefix + std::string(target);
}

}  // namespace

std::string media_type_of(std::string_view content_type) {
  auto end = content_type.find(';');
  std::string out(content_type.substr(0, end));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::optional<std::uint64_t> content_range_start(std::string_view header) {
  if (!header.starts_with("bytes ")) return std::nullopt;
  header.remove_prefix(6);
  auto dash = header.find('-');
  if (dash == std::string_view::npos || dash == 0) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : header.substr(0, dash)) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

RegistryClient::RegistryClient(ClientOptions options) : options_(std::move(options)) {}
RegistryClient::~RegistryClient() = default;

bool RegistryClient::is_insecure(std::string_view registry) const {
  return std::find(options_.insecure_registries.begin(), options_.insecure_registries.end(),
                   registry) != options_.insecure_registries.end();
}

std::vector<Endpoint> RegistryClient::endpoints(std::string_view registry) const {
  std::vector<Endpoint> out;
  if (registry == images::kDockerHubRegistry) {
    for (const auto& mirror : options_.registry_mirrors) {
      auto url = parse_url(mirror);
      if (!url) continue;  // validated when the config was loaded
      Endpoint e{std::string(registry), *url, true, true};
      e.verify_tls = !is_insecure(url->authority()) && !is_insecure(url->host + ":" + url->port);
      out.push_back(std::move(e));
    }
  }
  Endpoint direct;
  direct.registry = std::string(registry);
  bool insecure = is_insecure(registry);
  // Insecure registries are spoken to over plain HTTP; secure ones only over verified TLS.
  direct.base =
      *parse_url(std::string(insecure ? "http://" : "https://") + std::string(registry) + "/");
  direct.verify_tls = !insecure;
  out.push_back(std::move(direct));
  return out;
}

std::string RegistryClient::trusted_ca(const std::string& registry) {
  {
    std::lock_guard lock(mutex_);
    if (auto it = ca_cache_.find(registry); it != ca_cache_.end()) return it->second;
  }
  std::string pem = options_.transport.extra_ca_pem;
  if (!options_.certs_dir.empty()) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(options_.certs_dir / registry, ec)) {
      if (entry.path().extension() != ".crt") continue;
      if (auto text = sys::read_file(entry.path())) pem += *text + "\n";
    }
  }
  std::lock_guard lock(mutex_);
  ca_cache_[registry] = pem;
  return pem;
}

Result<std::unique_ptr<HttpConnection>> RegistryClient::connection(const Url& origin,
                                                                   bool verify_tls,
                                                                   const std::string& registry) {
  std::string key = origin.origin() + (verify_tls ? "" : " insecure");
  {
    std::lock_guard lock(mutex_);
    if (auto it = idle_.find(key); it != idle_.end()) {
      auto conn = std::move(it->second);
      idle_.erase(it);
      return conn;
    }
  }
  TransportOptions transport = options_.transport;
  transport.verify_tls = verify_tls;
  transport.extra_ca_pem = trusted_ca(registry);
  return HttpConnection::open(origin, transport);
}

void RegistryClient::give_back(std::unique_ptr<HttpConnection> connection) {
  if (!connection || !connection->reusable()) return;
  std::lock_guard lock(mutex_);
  // Pool key carries the verification mode so that an unverified connection never serves a
  // request that must be verified.
  idle_.emplace(connection->origin(), std::move(connection));
}

void RegistryClient::forget_credentials() {
  std::lock_guard lock(mutex_);
  auth_cache_.clear();
  basic_registries_.clear();
}

void RegistryClient::backoff(unsigned attempt) {
  auto delay = options_.first_backoff * (1u << std::min(attempt, 6u));
  std::this_thread::sleep_for(delay);
}

std::optional<std::string> RegistryClient::cached_authorization(const Endpoint& endpoint,
                                                                std::string_view repository) {
  std::lock_guard lock(mutex_);
  auto key = endpoint.base.origin() + " " + std::string(repository);
  if (auto it = auth_cache_.find(key); it != auth_cache_.end()) {
    if (std::chrono::steady_clock::now() < it->second.expires) return it->second.authorization;
    auth_cache_.erase(it);
  }
  if (auto it = basic_registries_.find(endpoint.base.origin()); it != basic_registries_.end())
    return it->second;
  return std::nullopt;
}

Status RegistryClient::authenticate(const Endpoint& endpoint, std::string_view repository,
                                    const std::string& challenge_header,
                                    const std::optional<Credentials>& credentials) {
  auto challenges = parse_www_authenticate(challenge_header);
  const AuthChallenge* bearer = nullptr;
  const AuthChallenge* basic = nullptr;
  for (const auto& c : challenges) {
    if (c.scheme == "bearer" && !bearer) bearer = &c;
    if (c.scheme == "basic" && !basic) basic = &c;
  }
  auto key = endpoint.base.origin() + " " + std::string(repository);
  if (bearer) {
    auto realm = parse_url(bearer->param("realm"));
    if (!realm)
      return failf(Errc::unavailable, "{}: bearer challenge has an unusable realm '{}'",
                   endpoint.display(), bearer->param("realm"));
    std::vector<std::pair<std::string, std::string>> query;
    if (auto service = bearer->param("service"); !service.empty())
      query.emplace_back("service", service);
    std::string scope = repository.empty() ? bearer->param("scope")
                                           : "repository:" + std::string(repository) + ":pull";
    if (!scope.empty()) query.emplace_back("scope", scope);
    std::string target = with_query(realm->target, query);
    std::string realm_registry =
        realm->is_default_port() ? realm->host : realm->host + ":" + realm->port;
    bool verify = !is_insecure(realm_registry) && endpoint.verify_tls;
    if (realm->scheme == "http") verify = false;
    RAIND_TRY_ASSIGN(auto conn, connection(*realm, verify, realm_registry));
    HeaderList headers{{"Host", realm->authority()},
                       {"User-Agent", options_.user_agent},
                       {"Accept", "application/json"}};
    if (credentials) headers.emplace_back("Authorization", basic_authorization(*credentials));
    RAIND_TRY_ASSIGN(auto head, conn->send("GET", target, headers));
    RAIND_TRY_ASSIGN(auto body, conn->read_body_string(1u << 20));
    give_back(std::move(conn));
    if (head.status == 401 || head.status == 403)
      return failf(Errc::unauthenticated, "{}: the token service {} refused {} ({}){}",
                   endpoint.registry, realm->origin(),
                   credentials ? "the stored credentials" : "an anonymous request", head.status,
                   credentials ? "" : "; log in with `raind image login`");
    if (head.status != 200)
      return failf(Errc::unavailable, "{}: token service {} answered {}: {}", endpoint.registry,
                   realm->origin(), head.status, error_summary(body));
    RAIND_TRY_ASSIGN(auto token, with_context(parse_token_response(body), endpoint.registry));
    // Renew a little early so a long pull does not present an expired token.
    auto lifetime = std::max(token.expires_in - std::chrono::seconds(10), std::chrono::seconds(5));
    std::lock_guard lock(mutex_);
    auth_cache_[key] = {"Bearer " + token.token, std::chrono::steady_clock::now() + lifetime};
    return ok();
  }
  if (basic) {
    if (!credentials)
      return failf(Errc::unauthenticated, "{} requires authentication: run `raind image login {}`",
                   endpoint.registry, endpoint.registry);
    std::lock_guard lock(mutex_);
    basic_registries_[endpoint.base.origin()] = basic_authorization(*credentials);
    return ok();
  }
  return failf(Errc::unauthenticated, "{}: unsupported authentication challenge '{}'",
               endpoint.registry, challenge_header);
}

Result<RegistryClient::Reply> RegistryClient::request_once(
    const Endpoint& endpoint, std::string_view repository, std::string_view method,
    const std::string& target, const HeaderList& headers,
    const std::optional<Credentials>& forced) {
  Url url = endpoint.base;
  url.target = join_target(endpoint.base, target);
  bool authenticated = false;
  std::optional<std::string> authorization;
  if (forced)
    authorization = basic_authorization(*forced);
  else
    authorization = cached_authorization(endpoint, repository);

  for (int hop = 0; hop < 8; ++hop) {
    bool same_origin = url.origin() == endpoint.base.origin();
    bool verify = same_origin ? endpoint.verify_tls : url.scheme == "https";
    RAIND_TRY_ASSIGN(auto conn, connection(url, verify, endpoint.registry));
    HeaderList all{{"Host", url.authority()}, {"User-Agent", options_.user_agent}};
    all.insert(all.end(), headers.begin(), headers.end());
    // Credentials never follow a redirect to another origin (blob storage URLs are signed).
    if (authorization && same_origin) all.emplace_back("Authorization", *authorization);
    auto head = conn->send(method, url.target, all);
    if (!head) {
      // A pooled connection the server closed meanwhile: one fresh try, not a retry.
      auto fresh = HttpConnection::open(url, [&] {
        TransportOptions t = options_.transport;
        t.verify_tls = verify;
        t.extra_ca_pem = trusted_ca(endpoint.registry);
        return t;
      }());
      if (!fresh) return std::unexpected(head.error());
      conn = std::move(*fresh);
      head = conn->send(method, url.target, all);
      if (!head) return std::unexpected(head.error());
    }
    if (head->status == 401 && same_origin && !authenticated && !forced) {
      (void)conn->read_body_string(1u << 20);
      give_back(std::move(conn));
      std::optional<Credentials> credentials;
      if (options_.credentials) credentials = options_.credentials(endpoint.registry);
      RAIND_TRY(authenticate(endpoint, repository, head->header("www-authenticate"), credentials));
      authorization = cached_authorization(endpoint, repository);
      authenticated = true;
      --hop;
      continue;
    }
    if (is_redirect(head->status)) {
      auto location = head->header("location");
      (void)conn->read_body_string(1u << 20);
      give_back(std::move(conn));
      RAIND_TRY_ASSIGN(url, resolve_url(url, location));
      if (method != "HEAD" && head->status == 303) method = "GET";
      continue;
    }
    return Reply{std::move(*head), std::move(conn), url};
  }
  return failf(Errc::unavailable, "{}: too many redirects for {}", endpoint.display(), target);
}

Result<RegistryClient::Reply> RegistryClient::request(const Endpoint& endpoint,
                                                      std::string_view repository,
                                                      std::string_view method,
                                                      const std::string& target, HeaderList headers,
                                                      std::optional<Credentials> forced) {
  for (unsigned attempt = 0;; ++attempt) {
    auto reply = request_once(endpoint, repository, method, target, headers, forced);
    bool last = attempt + 1 >= options_.max_attempts;
    if (reply) {
      if (!retryable_status(reply->head.status) || last) return reply;
      (void)reply->connection->read_body_string(1u << 20);
      give_back(std::move(reply->connection));
    } else if (reply.error().code() != Errc::unavailable || last) {
      return reply;
    }
    logger("condenser.registry")
        ->debug("registry {}: retrying {} {} ({})", endpoint.display(), method, target,
                reply ? fmt::format("status {}", reply->head.status) : reply.error().what());
    backoff(attempt);
  }
}

Status RegistryClient::check_login(const Endpoint& endpoint, const Credentials& credentials) {
  // The credentials go to /v2/ as basic auth: a basic registry checks them itself; a token
  // registry answers with a bearer challenge and its token service checks them.
  RAIND_TRY_ASSIGN(auto reply, request(endpoint, "", "GET", "/v2/", {}, credentials));
  (void)reply.connection->read_body_string(1u << 20);
  give_back(std::move(reply.connection));
  if (reply.head.status == 200) return ok();
  if (reply.head.status != 401)
    return failf(Errc::unavailable, "{}: /v2/ answered {}", endpoint.display(), reply.head.status);
  auto header = reply.head.header("www-authenticate");
  auto challenges = parse_www_authenticate(header);
  bool bearer = std::any_of(challenges.begin(), challenges.end(),
                            [](const auto& c) { return c.scheme == "bearer"; });
  if (!bearer)
    return failf(Errc::unauthenticated, "login to {} failed: the registry refused the credentials",
                 endpoint.registry);
  if (auto checked = authenticate(endpoint, "", header, credentials); !checked)
    return failf(Errc::unauthenticated, "login to {} failed: {}", endpoint.registry,
                 checked.error().what());
  return ok();
}

Result<FetchedManifest> RegistryClient::get_manifest(const Endpoint& endpoint,
                                                     std::string_view repository,
                                                     std::string_view reference,
                                                     std::uint64_t max_bytes) {
  std::string target = fmt::format("/v2/{}/manifests/{}", repository, reference);
  RAIND_TRY_ASSIGN(auto reply, request(endpoint, repository, "GET", target,
                                       {{"Accept", std::string(kManifestAccept)}}));
  RAIND_TRY_ASSIGN(auto body, reply.connection->read_body_string(max_bytes));
  give_back(std::move(reply.connection));
  auto status = reply.head.status;
  if (status == 404)
    return failf(Errc::not_found, "{}: manifest {}:{} not found ({})", endpoint.display(),
                 repository, reference, error_summary(body));
  if (status == 401)
    return failf(Errc::unauthenticated, "{}: not authorised to pull {} ({})", endpoint.registry,
                 repository, error_summary(body));
  if (status == 403)
    return failf(Errc::permission_denied, "{}: pulling {} is forbidden ({})", endpoint.registry,
                 repository, error_summary(body));
  if (status != 200)
    return failf(Errc::unavailable, "{}: manifest {}:{} answered {} ({})", endpoint.display(),
                 repository, reference, status, error_summary(body));
  FetchedManifest out;
  out.media_type = media_type_of(reply.head.header("content-type"));
  images::Sha256Stream hash;
  hash.update(body.data(), body.size());
  out.digest = hash.finish();
  out.body = std::move(body);
  if (images::is_sha256_digest(reference) && out.digest != reference)
    return failf(Errc::integrity, "{}: manifest digest mismatch: asked for {}, received {}",
                 endpoint.display(), reference, out.digest);
  return out;
}

Result<std::string> RegistryClient::get_blob(const Endpoint& endpoint, std::string_view repository,
                                             std::string_view digest, std::int64_t size,
                                             std::uint64_t max_bytes) {
  if (size < 0 || static_cast<std::uint64_t>(size) > max_bytes)
    return failf(Errc::invalid_argument, "blob {} declares {} bytes (limit {})", digest, size,
                 max_bytes);
  std::string target = fmt::format("/v2/{}/blobs/{}", repository, digest);
  RAIND_TRY_ASSIGN(auto reply, request(endpoint, repository, "GET", target, {}));
  if (reply.head.status != 200) {
    auto body = reply.connection->read_body_string(1u << 20);
    return failf(reply.head.status == 404 ? Errc::not_found : Errc::unavailable,
                 "{}: blob {} answered {} ({})", endpoint.display(), digest, reply.head.status,
                 error_summary(body ? *body : std::string()));
  }
  RAIND_TRY_ASSIGN(auto body, reply.connection->read_body_string(static_cast<std::uint64_t>(size)));
  give_back(std::move(reply.connection));
  images::Sha256Stream hash;
  hash.update(body.data(), body.size());
  auto got = hash.finish();
  if (body.size() != static_cast<std::size_t>(size) || got != digest)
    return failf(Errc::integrity, "blob {} from {}: received {} bytes hashing to {}", digest,
                 endpoint.display(), body.size(), got);
  return body;
}

Status RegistryClient::download_blob(const Endpoint& endpoint, std::string_view repository,
                                     std::string_view digest, std::int64_t size,
                                     const fs::path& partial, const BlobProgress& progress,
                                     const std::atomic<bool>* cancelled) {
  if (size < 0) return failf(Errc::invalid_argument, "blob {} has a negative size", digest);
  const auto total = static_cast<std::uint64_t>(size);
  UniqueFd fd(::open(partial.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return fail_errno(fmt::format("open {}", partial.string()));

  // Whatever an earlier attempt left is hashed again: the digest covers the whole blob.
  images::Sha256Stream hash;
  std::uint64_t have = 0;
  {
    std::array<char, 1 << 16> buf;
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0) return fail_errno(fmt::format("read {}", partial.string()));
      if (n == 0) break;
      hash.update(buf.data(), static_cast<std::size_t>(n));
      have += static_cast<std::uint64_t>(n);
    }
    if (have > total) {
      if (::ftruncate(fd.get(), 0) != 0) return fail_errno("truncate partial blob");
      ::lseek(fd.get(), 0, SEEK_SET);
      hash = images::Sha256Stream();
      have = 0;
    }
  }
  auto remove_partial = [&] { ::unlink(partial.c_str()); };

  std::string target = fmt::format("/v2/{}/blobs/{}", repository, digest);
  unsigned failures = 0;
  while (have < total || total == 0) {
    if (cancelled && cancelled->load()) return failf(Errc::conflict, "pull cancelled");
    HeaderList headers;
    if (have > 0) headers.emplace_back("Range", fmt::format("bytes={}-", have));
    auto reply = request(endpoint, repository, "GET", target, headers);
    if (!reply) return std::unexpected(reply.error());
    auto status = reply->head.status;
    if (status == 200 && have > 0) {
      // The server ignored Range: start over.
      if (::ftruncate(fd.get(), 0) != 0) return fail_errno("truncate partial blob");
      ::lseek(fd.get(), 0, SEEK_SET);
      hash = images::Sha256Stream();
      have = 0;
    } else if (status == 206) {
      auto start = content_range_start(reply->head.header("content-range"));
      if (!start || *start != have)
        return failf(Errc::unavailable, "{}: blob {}: asked for bytes from {}, got range '{}'",
                     endpoint.display(), digest, have, reply->head.header("content-range"));
    } else if (status != 200) {
      auto body = reply->connection->read_body_string(1u << 20);
      return failf(status == 404 ? Errc::not_found : Errc::unavailable,
                   "{}: blob {} answered {} ({})", endpoint.display(), digest, status,
                   error_summary(body ? *body : std::string()));
    }
    std::uint64_t before = have;
    auto read = reply->connection->read_body(
        [&](std::string_view bytes) -> Status {
          if (have + bytes.size() > total) {
            remove_partial();
            return failf(Errc::integrity, "blob {}: more than the {} bytes its descriptor declares",
                         digest, total);
          }
          RAIND_TRY(with_context(sys::write_all(fd.get(), bytes), "write blob"));
          hash.update(bytes.data(), bytes.size());
          have += bytes.size();
          if (progress) RAIND_TRY(progress(have, total));
          if (cancelled && cancelled->load()) return failf(Errc::conflict, "pull cancelled");
          return ok();
        },
        total + 1);
    if (read) {
      give_back(std::move(reply->connection));
      break;
    }
    if (read.error().code() != Errc::unavailable) return read;
    // The transfer broke: resume from what arrived. Attempts count only when nothing arrived.
    failures = have > before ? 0 : failures + 1;
    if (failures >= options_.max_attempts) return read;
    logger("condenser.registry")
        ->info("registry {}: blob {} broke after {} of {} bytes ({}); resuming", endpoint.display(),
               digest, have, total, read.error().what());
    backoff(failures);
  }
  if (have != total) {
    remove_partial();
    return failf(Errc::integrity, "blob {}: received {} bytes, its descriptor declares {}", digest,
                 have, total);
  }
  auto got = hash.finish();
  if (got != digest) {
    remove_partial();
    return failf(Errc::integrity,
                 "blob digest mismatch: expected {}, received content hashing to {}", digest, got);
  }
  if (::fsync(fd.get()) != 0) return fail_errno("sync blob");
  return ok();
}

}  // namespace raind::condenser::registry

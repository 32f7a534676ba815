#pragma once
// Registry authentication as pure logic: WWW-Authenticate challenges, token-endpoint answers,
// and the docker-format credentials file ({"auths": {"<registry>": {"auth": base64(user:pass)}}}).
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "raind/error.hpp"

namespace raind::condenser::registry {

struct AuthChallenge {
  std::string scheme;                         // lower case: "basic", "bearer"
  std::map<std::string, std::string> params;  // keys lower case: realm, service, scope, error
  std::string param(const std::string& key) const {
    auto it = params.find(key);
    return it == params.end() ? std::string() : it->second;
  }
};

// RFC 7235 challenges; several may share one header ("Basic realm=x, Bearer realm=y").
// Malformed input yields what could be parsed (possibly nothing), never an exception.
std::vector<AuthChallenge> parse_www_authenticate(std::string_view header);

struct BearerToken {
  std::string token;
  std::chrono::seconds expires_in{60};
};
// Token endpoint JSON: "token" or "access_token" (Docker Hub sends both, OAuth2 servers only
// the latter); expires_in defaults to 60 s as the distribution spec says.
Result<BearerToken> parse_token_response(std::string_view json);

struct Credentials {
  std::string username;
  std::string password;
  friend bool operator==(const Credentials&, const Credentials&) = default;
};

std::string base64_encode(std::string_view bytes);
Result<std::string> base64_decode(std::string_view text);
// "Basic base64(user:password)"
std::string basic_authorization(const Credentials& credentials);

// The key docker uses for a registry in config.json: Docker Hub is "https://index.docker.io/v1/".
std::string credentials_key(std::string_view registry);

// A docker-format credentials document. Unknown top-level keys ("credsStore", "HttpHeaders"…)
// are kept on rewrite; only "auths" is read.
class CredentialStore {
 public:
  static Result<CredentialStore> parse(std::string_view json, std::string_view origin);
  // A missing file is an empty store.
  static Result<CredentialStore> load(const std::filesystem::path& path);
  // Atomic rewrite, mode 0600.
  Status save(const std::filesystem::path& path) const;

  // Matches "host[:port]", "https://host[:port]", "http://…", with or without a path, and the
  // Docker Hub aliases (docker.io, index.docker.io, registry-1.docker.io).
  std::optional<Credentials> find(std::string_view registry) const;
  void set(std::string_view registry, const Credentials& credentials);
  // True when something was removed.
  bool erase(std::string_view registry);
  std::string serialize() const { return doc_.dump(2) + "\n"; }

 private:
  nlohmann::json doc_ = nlohmann::json::object();
};

}  // namespace raind::condenser::registry

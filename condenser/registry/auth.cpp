#include "condenser/registry/auth.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "condenser/images/reference.hpp"
#include "raind/atomic_file.hpp"
#include "raind/sys/files.hpp"

namespace raind::condenser::registry {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// "https://index.docker.io/v1/" → "index.docker.io"; "host:5000/x" → "host:5000".
std::string registry_host(std::string_view key) {
  if (auto scheme = key.find("://"); scheme != std::string_view::npos) key = key.substr(scheme + 3);
  key = key.substr(0, key.find('/'));
  std::string host = lower(key);
  if (host == "docker.io" || host == "index.docker.io" || host == images::kDockerHubRegistry)
    return std::string(images::kDockerHubRegistry);
  return host;
}

}  // namespace

std::vector<AuthChallenge> parse_www_authenticate(std::string_view header) {
  std::vector<AuthChallenge> out;
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < header.size() && (header[i] == ' ' || header[i] == '\t' || header[i] == ',')) ++i;
  };
  auto token = [&] {
    std::size_t start = i;
    while (i < header.size() && is_token_char(header[i])) ++i;
    return header.substr(start, i - start);
  };
  while (true) {
    skip_space();
    auto word = token();
    if (word.empty()) break;
    std::size_t after_word = i;
    while (i < header.size() && header[i] == ' ') ++i;
    if (i < header.size() && header[i] == '=' && !out.empty()) {
      // key=value for the current challenge
      ++i;
      while (i < header.size() && header[i] == ' ') ++i;
      std::string value;
      if (i < header.size() && header[i] == '"') {
        ++i;
        while (i < header.size() && header[i] != '"') {
          if (header[i] == '\\' && i + 1 < header.size()) ++i;
          value += header[i++];
        }
        if (i < header.size()) ++i;  // closing quote
      } else {
        // Unquoted: up to the next separator (lenient: realms are URLs, not tokens).
        std::size_t start = i;
        while (i < header.size() && header[i] != ',' && header[i] != ' ' && header[i] != '\t') ++i;
        value = std::string(header.substr(start, i - start));
      }
      out.back().params[lower(word)] = value;
    } else {
      i = after_word;
      out.push_back(AuthChallenge{lower(word), {}});
    }
  }
  return out;
}

Result<BearerToken> parse_token_response(std::string_view json) {
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return failf(Errc::parse, "token endpoint answered something that is not a JSON object");
  BearerToken out;
  for (const char* key : {"token", "access_token"}) {
    if (doc.contains(key) && doc[key].is_string() && !doc[key].get<std::string>().empty()) {
      out.token = doc[key].get<std::string>();
      break;
    }
  }
  if (out.token.empty())
    return failf(Errc::parse, "token endpoint answer has neither 'token' nor 'access_token'");
  if (doc.contains("expires_in") && doc["expires_in"].is_number_integer() &&
      doc["expires_in"].get<long>() > 0)
    out.expires_in = std::chrono::seconds(doc["expires_in"].get<long>());
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return failf(Errc::parse, "invalid base64 (length {})", text.size());
  std::string out(3 * text.size() / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return failf(Errc::parse, "invalid base64");
  // EVP_DecodeBlock counts padding as zero bytes.
  std::size_t len = static_cast<std::size_t>(n);
  if (text.ends_with("=="))
    len -= 2;
  else if (text.ends_with('='))
    len -= 1;
  out.resize(len);
  return out;
}

std::string basic_authorization(const Credentials& credentials) {
  return "Basic " + base64_encode(credentials.username + ":" + credentials.password);
}

std::string credentials_key(std::string_view registry) {
  std::string host = registry_host(registry);
  if (host == images::kDockerHubRegistry) return "https://index.docker.io/v1/";
  return host;
}

Result<CredentialStore> CredentialStore::parse(std::string_view json, std::string_view origin) {
  CredentialStore store;
  if (json.find_first_not_of(" \t\r\n") == std::string_view::npos) return store;
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return failf(Errc::parse, "{}: not a JSON object", origin);
  if (doc.contains("auths")) {
    if (!doc["auths"].is_object())
      return failf(Errc::parse, "{}: 'auths' must be an object", origin);
    for (auto& [key, entry] : doc["auths"].items()) {
      if (!entry.is_object())
        return failf(Errc::parse, "{}: auths[\"{}\"] must be an object", origin, key);
      if (entry.contains("auth")) {
        if (!entry["auth"].is_string())
          return failf(Errc::parse, "{}: auths[\"{}\"].auth must be a string", origin, key);
        auto decoded = base64_decode(entry["auth"].get<std::string>());
        if (!decoded || decoded->find(':') == std::string::npos)
          return failf(Errc::parse, "{}: auths[\"{}\"].auth is not base64 of user:password", origin,
                       key);
      }
    }
  }
  store.doc_ = std::move(doc);
  return store;
}

Result<CredentialStore> CredentialStore::load(const std::filesystem::path& path) {
  if (!sys::exists(path)) return CredentialStore{};
  RAIND_TRY_ASSIGN(auto text, sys::read_file(path));
  return parse(text, path.string());
}

Status CredentialStore::save(const std::filesystem::path& path) const {
  RAIND_TRY(sys::mkdir_p(path.parent_path(), 0700));
  return write_file_atomic(path, serialize(), 0600);
}

std::optional<Credentials> CredentialStore::find(std::string_view registry) const {
  if (!doc_.contains("auths") || !doc_["auths"].is_object()) return std::nullopt;
  std::string want = registry_host(registry);
  for (const auto& [key, entry] : doc_["auths"].items()) {
    if (registry_host(key) != want || !entry.is_object()) continue;
    if (entry.contains("auth") && entry["auth"].is_string()) {
      auto decoded = base64_decode(entry["auth"].get<std::string>());
      if (!decoded) continue;
      auto colon = decoded->find(':');
      if (colon == std::string::npos) continue;
      return Credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
    }
    if (entry.contains("username") && entry.contains("password") && entry["username"].is_string() &&
        entry["password"].is_string())
      return Credentials{entry["username"].get<std::string>(),
                         entry["password"].get<std::string>()};
  }
  return std::nullopt;
}

void CredentialStore::set(std::string_view registry, const Credentials& credentials) {
  erase(registry);
  if (!doc_.contains("auths") || !doc_["auths"].is_object())
    doc_["auths"] = nlohmann::json::object();
  doc_["auths"][credentials_key(registry)] = {
      {"auth", base64_encode(credentials.username + ":" + credentials.password)}};
}

bool CredentialStore::erase(std::string_view registry) {
  if (!doc_.contains("auths") || !doc_["auths"].is_object()) return false;
  std::string want = registry_host(registry);
  std::vector<std::string> keys;
  for (const auto& [key, entry] : doc_["auths"].items())
    if (registry_host(key) == want) keys.push_back(key);
  for (const auto& key : keys) doc_["auths"].erase(key);
  return !keys.empty();
}

}  // namespace raind::condenser::registry

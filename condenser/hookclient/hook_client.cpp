#include "condenser/hookclient/hook_client.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <optional>

#include <nlohmann/json.hpp>

#include "condenser/config/config.hpp"
#include "condenser/hookclient/https_client.hpp"
#include "condenser/pki/ossl.hpp"
#include "condenser/pki/pki.hpp"
#include "raind/atomic_file.hpp"
#include "raind/sys/files.hpp"

namespace raind::condenser::hookclient {

namespace {

constexpr std::string_view kContainerSpiffePrefix = "spiffe://raind/container/";

// The daemon's server certificate names DNS:localhost and IP:127.0.0.1 only.
constexpr std::string_view kServerName = "localhost";

Result<std::string> read_material(const std::filesystem::path& path, std::string_view what) {
  auto text = sys::read_file(path);
  if (!text) {
    if (text.error().code() == Errc::permission_denied)
      return failf(Errc::permission_denied, "read {} {}: permission denied (hooks run as root)",
                   what, path.string());
    return std::unexpected(std::move(text.error()).context(fmt::format("read {}", what)));
  }
  return text;
}

struct Listeners {
  std::optional<ListenAddress> ca;
  std::filesystem::path hooks_socket;
};

// The bound addresses: <run_dir>/listeners.json (ports may be kernel-chosen), else the config.
Result<Listeners> find_listeners(const Config& config) {
  Listeners out;
  out.hooks_socket = config.hooks_socket_path();
  if (config.ca.port != 0) out.ca = config.ca;
  const auto file = config.listeners_file();
  if (!sys::exists(file)) return out;
  RAIND_TRY_ASSIGN(auto text, read_material(file, "listeners file"));
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object())
    return failf(Errc::parse, "listeners file {} is not a json object", file.string());
  if (auto it = j.find("ca"); it != j.end() && it->is_string()) {
    auto addr = parse_listen_address(it->get<std::string>());
    if (!addr)
      return std::unexpected(
          std::move(addr.error()).context(fmt::format("ca address in {}", file.string())));
    out.ca = *addr;
  }
  if (auto it = j.find("hooks_socket"); it != j.end() && it->is_string() && !it->empty())
    out.hooks_socket = it->get<std::string>();
  return out;
}

HttpsEndpoint ca_endpoint(const ListenAddress& addr) {
  std::string host = addr.host;
  // A wildcard bind is reached over loopback.
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  auto ep = HttpsEndpoint::tcp(host, std::to_string(addr.port));
  if (host != "127.0.0.1") ep.server_name = std::string(kServerName);
  return ep;
}

struct Identity {
  std::filesystem::path dir;
  std::filesystem::path key_path() const { return dir / "key.pem"; }
  std::filesystem::path cert_path() const { return dir / "cert.pem"; }
};

// True when cert.pem and key.pem exist, parse, belong together and name this container.
bool identity_usable(const Identity& identity, const std::string& id) {
  auto key_pem = sys::read_file(identity.key_path());
  auto cert_pem = sys::read_file(identity.cert_path());
  if (!key_pem || !cert_pem) return false;
  auto key = ossl::read_private_key_pem(*key_pem);
  auto cert = ossl::read_cert_pem(*cert_pem);
  if (!key || !cert) return false;
  if (X509_check_private_key(cert->get(), key->get()) != 1) {
    ERR_clear_error();
    return false;
  }
  const auto sans = ossl::cert_uri_sans(cert->get());
  return sans.size() == 1 && sans.front() == std::string(kContainerSpiffePrefix) + id;
}

Status bootstrap_identity(const Config& config, const Listeners& listeners,
                          const Identity& identity, const std::string& id) {
  if (identity_usable(identity, id)) return ok();
  if (!listeners.ca)
    return failf(Errc::unavailable,
                 "ca listener address unknown: {} is missing and the configured ca port is 0",
                 config.listeners_file().string());
  TlsMaterial tls;
  // The key first: its permission error is the one a non-root caller will meet.
  RAIND_TRY_ASSIGN(tls.key_pem, read_material(config.pki_dir / "hook.key", "hook client key"));
  RAIND_TRY_ASSIGN(tls.cert_pem,
                   read_material(config.pki_dir / "hook.crt", "hook client certificate"));
  RAIND_TRY_ASSIGN(tls.ca_pem, read_material(config.pki_dir / "ca.crt", "ca certificate"));

  RAIND_TRY_ASSIGN(auto key, ossl::generate_ec_key());
  RAIND_TRY_ASSIGN(auto csr, make_container_csr(key.get(), id));
  HttpsRequest request;
  request.method = "POST";
  request.target = "/v1/pki/sign";
  request.content_type = "application/pem-certificate-chain";
  request.body = std::move(csr);
  RAIND_TRY_ASSIGN(auto reply, https_request(ca_endpoint(*listeners.ca), tls, request));
  if (reply.status < 200 || reply.status >= 300)
    return std::unexpected(reply_error(reply).context("sign container certificate"));
  // Accept only a certificate for our own key and id: anything else would fail later, less clearly.
  auto cert = ossl::read_cert_pem(reply.body);
  if (!cert)
    return std::unexpected(std::move(cert.error()).context("read signed container certificate"));
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    ERR_clear_error();
    return fail(Errc::integrity, "signed container certificate does not match the generated key");
  }

  RAIND_TRY_ASSIGN(auto key_pem, ossl::private_key_pem(key.get()));
  RAIND_TRY(sys::mkdir_p(identity.dir, 0700));
  // Key before certificate: a crash in between leaves no cert, so the next createRuntime re-issues.
  RAIND_TRY(write_file_atomic(identity.key_path(), key_pem, 0600));
  RAIND_TRY(write_file_atomic(identity.cert_path(), reply.body, 0644));
  return ok();
}

Status report_event(const Config& config, const Listeners& listeners, const Identity& identity,
                    const std::string& id, const std::string& event,
                    const std::string& state_json) {
  if (!sys::exists(identity.cert_path()) || !sys::exists(identity.key_path()))
    return failf(Errc::not_found,
                 "container '{}' has no identity ({} missing): did the createRuntime hook run?", id,
                 identity.dir.string());
  TlsMaterial tls;
  RAIND_TRY_ASSIGN(tls.key_pem, read_material(identity.key_path(), "container key"));
  RAIND_TRY_ASSIGN(tls.cert_pem, read_material(identity.cert_path(), "container certificate"));
  RAIND_TRY_ASSIGN(tls.ca_pem, read_material(config.pki_dir / "ca.crt", "ca certificate"));
  HttpsRequest request;
  request.method = "POST";
  request.target = "/v1/hooks/droplet";
  request.headers.emplace_back("X-Hook-Event", event);
  request.content_type = "application/json";
  request.body = state_json;
  RAIND_TRY_ASSIGN(auto reply, https_request(HttpsEndpoint::unix_socket(listeners.hooks_socket,
                                                                        std::string(kServerName)),
                                             tls, request));
  if (reply.status < 200 || reply.status >= 300) return std::unexpected(reply_error(reply));
  return ok();
}

}  // namespace

bool is_hook_event(std::string_view event) {
  return std::find(kHookEvents.begin(), kHookEvents.end(), event) != kHookEvents.end();
}

bool is_container_id(std::string_view id) {
  return id.size() == 12 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
         });
}

Result<HookState> parse_hook_state(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(Errc::parse, "invalid state on stdin: not a json object");
  auto it = j.find("id");
  if (it == j.end() || !it->is_string())
    return fail(Errc::parse, "invalid state on stdin: field 'id' must be a string");
  HookState state;
  state.id = it->get<std::string>();
  if (!is_container_id(state.id))
    return failf(Errc::invalid_argument,
                 "invalid state on stdin: id '{}' is not a container id (12 characters [0-9a-z])",
                 state.id.substr(0, 64));
  return state;
}

Result<std::string> make_container_csr(EVP_PKEY* key, const std::string& container_id) {
  ossl::ReqPtr req(X509_REQ_new());
  if (!req) return ossl::fail_ssl("allocate csr");
  X509_NAME* name = X509_REQ_get_subject_name(req.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(container_id.c_str()), -1,
                                 -1, 0) != 1)
    return ossl::fail_ssl("set csr subject");
  if (X509_REQ_set_pubkey(req.get(), key) != 1) return ossl::fail_ssl("set csr key");
  const std::string san = "URI:" + std::string(kContainerSpiffePrefix) + container_id;
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, nullptr, NID_subject_alt_name, san.c_str());
  if (!ext) return ossl::fail_ssl("build csr san");
  ossl::ExtStackPtr exts(sk_X509_EXTENSION_new_null());
  if (!exts || sk_X509_EXTENSION_push(exts.get(), ext) == 0) {
    X509_EXTENSION_free(ext);
    return ossl::fail_ssl("build csr extensions");
  }
  if (X509_REQ_add_extensions(req.get(), exts.get()) != 1)
    return ossl::fail_ssl("add csr extensions");
  if (X509_REQ_sign(req.get(), key, EVP_sha256()) <= 0) return ossl::fail_ssl("sign csr");
  return ossl::csr_pem(req.get());
}

std::filesystem::path identity_dir(const std::filesystem::path& state_dir, const std::string& id) {
  return state_dir / "containers" / id / "identity";
}

Status run_hook(const HookOptions& options) {
  if (!is_hook_event(options.event))
    return failf(Errc::invalid_argument, "unknown hook event '{}'", options.event);
  RAIND_TRY_ASSIGN(auto state, parse_hook_state(options.state_json));
  RAIND_TRY_ASSIGN(auto config, load_config(options.config_path, options.config_missing_ok));
  RAIND_TRY_ASSIGN(auto listeners, find_listeners(config));
  const Identity identity{identity_dir(config.state_dir, state.id)};
  const std::string frame = fmt::format("{} hook for container {}", options.event, state.id);
  if (options.event == "createRuntime")
    RAIND_TRY(with_context(bootstrap_identity(config, listeners, identity, state.id), frame));
  return with_context(
      report_event(config, listeners, identity, state.id, options.event, options.state_json),
      frame);
}

}  // namespace raind::condenser::hookclient

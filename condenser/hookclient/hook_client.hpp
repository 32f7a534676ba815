#pragma once
// `condenserd hook --event <phase>`: the OCI hook droplet runs with the container state on stdin.
// createRuntime bootstraps the container's identity (key + CSR signed by condenserd's CA listener,
// authenticated with the hook client certificate); every event then reports the state to the
// hooks API over the unix socket, authenticated as the container itself.
#include <openssl/evp.h>

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

#include "raind/error.hpp"

namespace raind::condenser::hookclient {

inline constexpr std::array<std::string_view, 5> kHookEvents{
    "createRuntime", "createContainer", "poststart", "stopContainer", "poststop"};
bool is_hook_event(std::string_view event);

// Container ids condenserd generates: exactly 12 characters [0-9a-z].
bool is_container_id(std::string_view id);

// The OCI state JSON (droplet's format, read tolerantly): only the id is needed.
struct HookState {
  std::string id;
};
Result<HookState> parse_hook_state(std::string_view text);

// PEM CSR with the single URI SAN spiffe://raind/container/<id>, signed with `key`.
Result<std::string> make_container_csr(EVP_PKEY* key, const std::string& container_id);

// <state_dir>/containers/<id>/identity
std::filesystem::path identity_dir(const std::filesystem::path& state_dir, const std::string& id);

struct HookOptions {
  std::filesystem::path config_path;
  bool config_missing_ok = false;
  std::string event;
  std::string state_json;  // stdin
};

Status run_hook(const HookOptions& options);

}  // namespace raind::condenser::hookclient

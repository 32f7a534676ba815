#pragma once
// Raind's default security profile: the seccomp allow-list, capability set and AppArmor profile
// shipped in policies/ (installed to share/raind/policies). condenserd applies it to every
// config.json it writes; droplet itself only enforces what config.json says.
//
// policies/
//   seccomp-default.json     an OCI linux.seccomp object
//   capabilities.json        {"capabilities": ["CAP_CHOWN", …]}
//   apparmor/raind-default   AppArmor profile source; its `profile NAME` is the profile name
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "raind/error.hpp"
#include "raind/oci/runtime_spec.hpp"

namespace raind::oci {

inline constexpr std::string_view kSeccompPolicyFile = "seccomp-default.json";
inline constexpr std::string_view kCapabilitiesPolicyFile = "capabilities.json";
inline constexpr std::string_view kAppArmorPolicyFile = "apparmor/raind-default";
inline constexpr std::string_view kAppArmorSecurityFs = "/sys/kernel/security/apparmor";

struct SecurityProfile {
  Seccomp seccomp;
  std::vector<std::string> capabilities;  // CAP_* names
  std::string apparmor_profile;           // profile name, e.g. "raind-default"
};

// Reads the three policy files under policies_dir. Strict: unknown fields, wrong types, unknown
// actions/architectures/operators/capabilities are errors naming the file and the JSON path,
// e.g. ".../seccomp-default.json: syscalls[2].action: unknown action \"SCMP_ACT_NOPE\"".
Result<SecurityProfile> load_security_profile(const std::filesystem::path& policies_dir);

// Strict parsers behind load_security_profile; `source` names the document in errors.
Result<Seccomp> parse_seccomp_policy(std::string_view text, std::string_view source);
Result<std::vector<std::string>> parse_capabilities_policy(std::string_view text,
                                                           std::string_view source);
Result<std::string> parse_apparmor_profile_name(std::string_view text, std::string_view source);

// The OCI JSON form of a linux.seccomp object.
nlohmann::json seccomp_to_json(const Seccomp& seccomp);

// Puts the profile into spec: bounding/effective/permitted = the capability list, inheritable
// and ambient empty, linux.seccomp, process.apparmorProfile, noNewPrivileges. Also updates
// spec.raw so spec_to_json() writes the profile for parsed documents too.
void apply_security_profile(Spec& spec, const SecurityProfile& profile);

// Loads the AppArmor profile into the kernel with `apparmor_parser -r -W`. When the kernel has
// no AppArmor (securityfs_dir absent) this logs a warning, sets *loaded = false and succeeds.
Status load_apparmor_profile(
    const std::filesystem::path& profile_file, bool* loaded,
    const std::filesystem::path& securityfs_dir = std::filesystem::path(kAppArmorSecurityFs));

}  // namespace raind::oci

#pragma once
// config.json for one container, written by condenserd itself: the image's process settings
// merged with the request, Raind's default security profile, resource limits, the overlay and
// network annotations droplet acts on, and the hooks that report lifecycle changes back to
// condenserd. Pure: every path and the security profile come from the caller.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "condenser/containers/image_config.hpp"
#include "condenser/containers/raind_annotations.hpp"
#include "condenser/containers/user_spec.hpp"
#include "condenser/containers/volume_spec.hpp"
#include "raind/error.hpp"
#include "raind/oci/runtime_spec.hpp"
#include "raind/oci/security_profile.hpp"

namespace raind::condenser::containers {

inline constexpr std::int64_t kDefaultMemoryBytes = std::int64_t{1} << 30;  // 1 GiB
inline constexpr double kDefaultCpus = 0.8;
inline constexpr std::int64_t kDefaultPidsLimit = 512;
inline constexpr std::uint64_t kCpuPeriod = 100000;  // µs
// Below this the runtime itself cannot start inside the cgroup.
inline constexpr std::int64_t kMinMemoryBytes = 6 * 1024 * 1024;

struct ContainerRequest {
  std::vector<std::string> command;                    // replaces the image's Cmd
  std::optional<std::vector<std::string>> entrypoint;  // replaces the image's Entrypoint
  std::vector<std::string> env;                        // KEY=VALUE; wins over the image's
  std::string workdir;                                 // empty: the image's, else "/"
  std::string user;                                    // empty: the image's, else root
  std::string hostname;                                // empty: the container id
  bool read_only = false;
  bool tty = false;
  std::optional<std::int64_t> memory_bytes;
  std::optional<double> cpus;
  std::optional<std::int64_t> pids_limit;
  std::vector<Volume> volumes;  // already parsed and guarded (volume_spec.hpp)
};

struct HookCommand {
  std::string path = "/usr/local/bin/condenserd";
  std::vector<std::string> extra_args;  // appended after "hook --event <phase>"
  std::vector<std::string> env;
  int timeout_seconds = 30;  // a hung daemon must not hang droplet forever
};

struct GenerateContext {
  std::string container_id;
  std::string rootfs;  // where droplet mounts the overlay (root.path)
  OverlayLayout overlay;
  std::optional<NetworkAttachment> network;  // none: an isolated network namespace
  std::string hosts_path;                    // host files bind-mounted over /etc/…
  std::string hostname_path;
  std::string resolv_conf_path;
  std::optional<HookCommand> hook;  // none: no lifecycle hooks
  oci::SecurityProfile security;
  std::string cgroups_path;  // empty: droplet's default
  AccountFiles accounts;     // the image's /etc/passwd and /etc/group, for named users
};

// Image Entrypoint/Cmd are combined Docker-style: (request entrypoint or image entrypoint) +
// (request command or image Cmd).
Result<std::vector<std::string>> container_argv(const ImageConfig& image,
                                                const ContainerRequest& request);
// Image env, then request env; a later KEY replaces an earlier one in place. PATH gets a default
// when neither sets it, HOSTNAME is set, TERM=xterm for a tty.
Result<std::vector<std::string>> container_env(const ImageConfig& image,
                                               const ContainerRequest& request,
                                               const std::string& hostname);

Result<oci::Spec> generate_container_config(const ImageConfig& image,
                                            const ContainerRequest& request,
                                            const GenerateContext& context);
// The config.json document for a generated spec (resources and seccomp included).
nlohmann::json container_config_json(const oci::Spec& spec);

}  // namespace raind::condenser::containers

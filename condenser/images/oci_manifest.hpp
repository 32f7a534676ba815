#pragma once
// OCI image-spec / Docker schema-2 documents as far as the store needs them: indexes (manifest
// lists), manifests, the config's platform and diff-ids, and platform selection. Pure functions,
// tolerant of unknown fields.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "raind/error.hpp"

namespace raind::condenser::images {

inline constexpr std::string_view kOciIndexType = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifestType = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciConfigType = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kDockerListType =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifestType =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";
inline constexpr std::string_view kContainerdNameAnnotation = "io.containerd.image.name";

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;  // empty: any
  std::string to_string() const;
  friend bool operator==(const Platform&, const Platform&) = default;
};

struct Descriptor {
  std::string media_type;
  std::string digest;  // validated "sha256:<hex>"
  std::int64_t size = 0;
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
};

struct ImageManifest {
  Descriptor config;
  std::vector<Descriptor> layers;
};

struct ImageConfigInfo {
  Platform platform;
  std::vector<std::string> diff_ids;
};

bool is_index_media_type(std::string_view media_type);
// An index (OCI or Docker list): the "manifests" array.
Result<std::vector<Descriptor>> parse_index_manifests(std::string_view json);
Result<ImageManifest> parse_image_manifest(std::string_view json);
Result<ImageConfigInfo> parse_image_config(std::string_view json);
// True when the document is an index, judged by mediaType or by a "manifests" array.
bool looks_like_index(std::string_view json);

// The platform this machine runs (uname, in OCI names: x86_64 → amd64, aarch64 → arm64, …).
Platform host_platform();

// os and architecture must match; variant only when both sides name one.
bool platform_matches(const Platform& have, const Platform& want);
// First entry whose platform matches; entries without a platform never match.
std::optional<Descriptor> select_platform(const std::vector<Descriptor>& manifests,
                                          const Platform& want);

}  // namespace raind::condenser::images

#pragma once
// Docker-style image references: [registry[:port]/]path[:tag][@sha256:<hex>]. Pure parsing, no
// I/O. Docker Hub names are normalised the way the docker CLI does it (registry-1.docker.io,
// "library/" for single-component names) so that "busybox" and "docker.io/library/busybox:latest"
// name the same image.
#include <string>
#include <string_view>

#include "raind/error.hpp"

namespace raind::condenser::images {

inline constexpr std::string_view kDockerHubRegistry = "registry-1.docker.io";
inline constexpr std::string_view kDefaultTag = "latest";

struct Reference {
  std::string registry;    // host[:port], e.g. "registry-1.docker.io", "localhost:5000"
  std::string repository;  // path inside the registry, e.g. "library/busybox"
  std::string tag;         // empty only when a digest is given without a tag
  std::string digest;      // "sha256:<64 hex>" or empty

  // Canonical form "registry/repository[:tag][@digest]"; parse_reference(to_string()) round-trips.
  std::string to_string() const;
  // Short form for listings: Docker Hub's registry and "library/" dropped ("busybox:latest").
  std::string familiar() const;
  // What a registry's manifests endpoint takes: the digest if present, else the tag.
  const std::string& manifest_ref() const { return digest.empty() ? tag : digest; }

  friend bool operator==(const Reference&, const Reference&) = default;
};

// Errors are Errc::invalid_argument and name the offending part ("tag", "repository component",
// "registry", "digest").
Result<Reference> parse_reference(std::string_view text);

// True for "sha256:" followed by exactly 64 lower-case hex characters.
bool is_sha256_digest(std::string_view digest);

}  // namespace raind::condenser::images

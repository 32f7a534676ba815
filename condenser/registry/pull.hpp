#pragma once
// `image pull`: reference → manifest (through an index / manifest list for the wanted platform)
// → config → layers, downloaded in parallel (bounded), each verified by digest and size while it
// streams, resumed with Range after a break, unpacked once per diff-id, then registered. Nothing
// is registered unless every blob verified; a layer already in the store is not fetched again.
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "condenser/images/image_index.hpp"
#include "condenser/images/oci_manifest.hpp"
#include "condenser/images/reference.hpp"
#include "condenser/images/store.hpp"
#include "condenser/registry/client.hpp"
#include "raind/error.hpp"

namespace raind::condenser::registry {

struct PullRequest {
  images::Reference reference;
  images::Platform platform = images::host_platform();
  bool platform_explicit = false;  // --platform given: a single-platform image must match it
  unsigned max_concurrent_downloads = 3;
  const std::atomic<bool>* stop = nullptr;  // set by the daemon at shutdown
};

struct PullResult {
  images::ImageRecord record;
  std::string endpoint;  // where it came from (a mirror or the registry)
  std::size_t layers_downloaded = 0;
  std::size_t layers_present = 0;
  std::uint64_t bytes_downloaded = 0;
};

// Progress events, called from worker threads (the callee synchronises):
//   {"status":"resolved","digest","media_type","platform","layers"}
//   {"status":"waiting"|"downloading"|"unpacking"|"done"|"exists","layer","current","total"}
using PullObserver = std::function<void(const nlohmann::json& event)>;

Result<PullResult> pull_image(images::ImageStore& store, RegistryClient& client,
                              const PullRequest& request, const PullObserver& observer = {});

// "linux/arm64", "linux/arm/v7", "arm64" (linux implied).
Result<images::Platform> parse_platform(std::string_view text);

}  // namespace raind::condenser::registry

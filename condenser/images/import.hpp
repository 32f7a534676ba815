#pragma once
// `raind image import`: loads an image tarball with no registry involved. Two formats, detected
// from the content:
//  - an OCI image layout (oci-layout + index.json + blobs/sha256/…); nested indexes are followed
//    and the entry for the requested platform is chosen;
//  - a docker-archive ("docker save": manifest.json with Config/RepoTags/Layers).
// Every blob is verified (OCI blob names and descriptor sizes, layer diff-ids against the config),
// layers are unpacked once into the store, and the image is registered under its name(s).
#include <filesystem>
#include <optional>
#include <string_view>
#include <vector>

#include "condenser/images/image_index.hpp"
#include "condenser/images/oci_manifest.hpp"
#include "condenser/images/store.hpp"
#include "raind/error.hpp"

namespace raind::condenser::images {

// reference: register the image under this name. For an OCI layout it also picks the entry
// whose ref.name annotation is its tag (else "latest", else the first one for the platform);
// for a docker-archive the entry tagged with it (else the first). Without a reference, the
// names recorded in the archive are used (RepoTags; full-reference annotations).
// Returns the records written.
Result<std::vector<ImageRecord>> import_archive(ImageStore& store,
                                                const std::filesystem::path& tar_path,
                                                std::optional<std::string_view> reference = {},
                                                const Platform& platform = {});

}  // namespace raind::condenser::images

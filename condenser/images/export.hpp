#pragma once
// `raind image export`: writes images from the store as an OCI image layout tarball (the format
// `image import` and `skopeo copy oci-archive:` read): oci-layout, index.json with one entry per
// image (ref.name annotation = tag, io.containerd.image.name = full reference), blobs/sha256/….
#include <filesystem>
#include <vector>

#include "condenser/images/image_index.hpp"
#include "condenser/images/store.hpp"
#include "raind/error.hpp"

namespace raind::condenser::images {

// The tarball is written beside `out` and renamed into place; `out` must not exist.
Status export_images(const ImageStore& store, const std::vector<ImageRecord>& images,
                     const std::filesystem::path& out);

}  // namespace raind::condenser::images

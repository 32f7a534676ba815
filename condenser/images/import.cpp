#include "condenser/images/import.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>

#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "condenser/images/archive_files.hpp"
#include "condenser/images/reference.hpp"
#include "raind/sys/files.hpp"

namespace raind::condenser::images {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kMaxIndexDepth = 4;

struct ResolvedImage {
  std::string manifest_digest;
  std::string config_digest;
  std::vector<std::string> layer_digests;
  std::vector<std::string> diff_ids;
};

struct NamedImage {
  Reference name;
  ResolvedImage image;
};

// A descriptor's blob must be present with the size the descriptor states (its digest was
// verified when it entered the store).
Status check_blob(const ImageStore& store, const Descriptor& d) {
  if (!store.has_blob(d.digest))
    return failf(Errc::not_found, "blob {} ({}) is missing from the archive", d.digest,
                 d.media_type.empty() ? "no media type" : d.media_type);
  std::error_code ec;
  auto size = fs::file_size(store.blob_path(d.digest), ec);
  if (ec || static_cast<std::int64_t>(size) != d.size)
    return failf(Errc::integrity, "blob {} is {} bytes, its descriptor says {}", d.digest,
                 ec ? 0 : size, d.size);
  return ok();
}

// Follows a descriptor down to one image manifest for the platform; nullopt if there is none.
Result<std::optional<ResolvedImage>> resolve_oci(const ImageStore& store, const Descriptor& desc,
                                                 const Platform& want, int depth) {
  RAIND_TRY(check_blob(store, desc));
  RAIND_TRY_ASSIGN(std::string text, store.read_blob(desc.digest));
  if (is_index_media_type(desc.media_type) || looks_like_index(text)) {
    if (depth >= kMaxIndexDepth)
      return failf(Errc::parse, "indexes nested deeper than {} levels", kMaxIndexDepth);
    RAIND_TRY_ASSIGN(auto manifests, with_context(parse_index_manifests(text), desc.digest));
    auto chosen = select_platform(manifests, want);
    if (!chosen) return std::optional<ResolvedImage>{};
    return resolve_oci(store, *chosen, want, depth + 1);
  }
  RAIND_TRY_ASSIGN(auto manifest, with_context(parse_image_manifest(text), desc.digest));
  RAIND_TRY(check_blob(store, manifest.config));
  RAIND_TRY_ASSIGN(std::string config_text, store.read_blob(manifest.config.digest));
  RAIND_TRY_ASSIGN(auto config,
                   with_context(parse_image_config(config_text), manifest.config.digest));
  if (!platform_matches(config.platform, want)) return std::optional<ResolvedImage>{};
  if (config.diff_ids.size() != manifest.layers.size())
    return failf(Errc::parse, "manifest {} has {} layers but its config lists {} diff_ids",
                 desc.digest, manifest.layers.size(), config.diff_ids.size());
  ResolvedImage image{desc.digest, manifest.config.digest, {}, config.diff_ids};
  for (const auto& layer : manifest.layers) {
    RAIND_TRY(check_blob(store, layer));
    image.layer_digests.push_back(layer.digest);
  }
  return std::optional<ResolvedImage>(std::move(image));
}

std::string annotation(const Descriptor& d, std::string_view key) {
  auto it = d.annotations.find(std::string(key));
  return it == d.annotations.end() ? std::string() : it->second;
}

Result<std::vector<NamedImage>> select_oci(ArchiveFiles& files, const ImageStore& store,
                                           const std::optional<Reference>& want_ref,
                                           const Platform& platform) {
  RAIND_TRY_ASSIGN(std::string layout_text, files.bytes("oci-layout"));
  auto layout = json::parse(layout_text, nullptr, false);
  if (layout.is_discarded() || !layout.is_object() || !layout.contains("imageLayoutVersion"))
    return fail(Errc::parse, "oci-layout: no imageLayoutVersion");
  RAIND_TRY_ASSIGN(std::string index_text, files.bytes("index.json"));
  RAIND_TRY_ASSIGN(auto top, with_context(parse_index_manifests(index_text), "index.json"));

  std::vector<NamedImage> out;
  if (want_ref) {
    // Preference: the entry tagged like the requested reference, then "latest", then any.
    std::vector<const Descriptor*> order;
    for (std::string_view tag : {std::string_view(want_ref->tag), kDefaultTag})
      for (const auto& d : top)
        if (annotation(d, kRefNameAnnotation) == tag) order.push_back(&d);
    for (const auto& d : top) order.push_back(&d);
    for (const Descriptor* d : order) {
      RAIND_TRY_ASSIGN(auto resolved, resolve_oci(store, *d, platform, 0));
      if (resolved) {
        out.push_back({*want_ref, std::move(*resolved)});
        return out;
      }
    }
    return failf(Errc::not_found, "no {} image in the OCI layout", platform.to_string());
  }

  std::vector<std::string> tag_only;
  for (const auto& d : top) {
    std::string name = annotation(d, kContainerdNameAnnotation);
    if (name.empty()) name = annotation(d, kRefNameAnnotation);
    // A bare tag ("latest") says nothing about the repository.
    if (name.find_first_of("/:") == std::string::npos) {
      if (!name.empty()) tag_only.push_back(name);
      continue;
    }
    RAIND_TRY_ASSIGN(auto ref, with_context(parse_reference(name), "OCI layout image name"));
    RAIND_TRY_ASSIGN(auto resolved, resolve_oci(store, d, platform, 0));
    if (resolved) out.push_back({std::move(ref), std::move(*resolved)});
  }
  if (out.empty() && !tag_only.empty())
    return failf(Errc::invalid_argument,
                 "the OCI layout names its images only by tag ({}): give a reference to import as",
                 fmt::join(tag_only, ", "));
  if (out.empty())
    return failf(Errc::not_found, "no named {} image in the OCI layout", platform.to_string());
  return out;
}

// Docker archives have no manifest blob; an OCI manifest is synthesised so every image in the
// store has one. Layer media types follow the blob's compression.
Result<std::string> layer_media_type(const ImageStore& store, const std::string& digest) {
  RAIND_TRY_ASSIGN(auto fd, sys::open(store.blob_path(digest), O_RDONLY | O_CLOEXEC));
  std::array<unsigned char, 4> magic{};
  ssize_t n = ::read(fd.get(), magic.data(), magic.size());
  if (n >= 2 && magic[0] == 0x1f && magic[1] == 0x8b)
    return std::string("application/vnd.oci.image.layer.v1.tar+gzip");
  if (n >= 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f && magic[3] == 0xfd)
    return std::string("application/vnd.oci.image.layer.v1.tar+zstd");
  return std::string("application/vnd.oci.image.layer.v1.tar");
}

Result<std::int64_t> blob_size(const ImageStore& store, const std::string& digest) {
  std::error_code ec;
  auto size = fs::file_size(store.blob_path(digest), ec);
  if (ec) return failf(Errc::not_found, "blob {} is not in the store", digest);
  return static_cast<std::int64_t>(size);
}

Result<ResolvedImage> resolve_docker_entry(ArchiveFiles& files, ImageStore& store,
                                           const json& entry) {
  if (!entry.is_object() || !entry.contains("Config") || !entry["Config"].is_string() ||
      !entry.contains("Layers") || !entry["Layers"].is_array())
    return fail(Errc::parse, "manifest.json: an entry lacks Config or Layers");
  std::string config_path = entry["Config"].get<std::string>();
  RAIND_TRY_ASSIGN(std::string config_text, files.bytes(config_path));
  RAIND_TRY_ASSIGN(auto config, with_context(parse_image_config(config_text), config_path));
  RAIND_TRY_ASSIGN(std::string config_digest, files.blob(config_path));
  // docker save names the config after its digest: hold it to that.
  fs::path config_name = fs::path(config_path).filename();
  if (config_name.extension() == ".json" &&
      is_sha256_digest("sha256:" + config_name.stem().string()) &&
      config_digest != "sha256:" + config_name.stem().string())
    return failf(Errc::integrity, "config {} has digest {}", config_path, config_digest);

  const auto& layers = entry["Layers"];
  if (layers.size() != config.diff_ids.size())
    return failf(Errc::parse, "manifest.json lists {} layers but config {} has {} diff_ids",
                 layers.size(), config_path, config.diff_ids.size());
  ResolvedImage image{{}, config_digest, {}, config.diff_ids};
  json manifest_layers = json::array();
  for (const auto& layer : layers) {
    if (!layer.is_string()) return fail(Errc::parse, "manifest.json: a layer path is not a string");
    RAIND_TRY_ASSIGN(std::string digest, files.blob(layer.get<std::string>()));
    RAIND_TRY_ASSIGN(std::string media_type, layer_media_type(store, digest));
    RAIND_TRY_ASSIGN(std::int64_t size, blob_size(store, digest));
    manifest_layers.push_back({{"mediaType", media_type}, {"digest", digest}, {"size", size}});
    image.layer_digests.push_back(std::move(digest));
  }
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", kOciManifestType},
                   {"config",
                    {{"mediaType", kOciConfigType},
                     {"digest", config_digest},
                     {"size", static_cast<std::int64_t>(config_text.size())}}},
                   {"layers", std::move(manifest_layers)}};
  RAIND_TRY_ASSIGN(image.manifest_digest, store.put_blob_bytes(manifest.dump()));
  return image;
}

Result<std::vector<NamedImage>> select_docker(ArchiveFiles& files, ImageStore& store,
                                              const std::optional<Reference>& want_ref) {
  RAIND_TRY_ASSIGN(std::string text, files.bytes("manifest.json"));
  auto entries = json::parse(text, nullptr, false);
  if (entries.is_discarded() || !entries.is_array() || entries.empty())
    return fail(Errc::parse, "manifest.json: not a non-empty JSON array");

  auto tags_of = [](const json& entry) {
    std::vector<Reference> refs;
    auto it = entry.find("RepoTags");
    if (it == entry.end() || !it->is_array()) return refs;
    for (const auto& tag : *it)
      if (tag.is_string())
        if (auto ref = parse_reference(tag.get<std::string>())) refs.push_back(std::move(*ref));
    return refs;
  };

  std::vector<NamedImage> out;
  if (want_ref) {
    const json* chosen = &entries.front();
    for (const auto& entry : entries)
      for (const auto& tag : tags_of(entry))
        if (tag == *want_ref) chosen = &entry;
    RAIND_TRY_ASSIGN(auto image, resolve_docker_entry(files, store, *chosen));
    out.push_back({*want_ref, std::move(image)});
    return out;
  }
  for (const auto& entry : entries) {
    auto tags = tags_of(entry);
    if (tags.empty()) continue;
    RAIND_TRY_ASSIGN(auto image, resolve_docker_entry(files, store, entry));
    for (auto& tag : tags) out.push_back({std::move(tag), image});
  }
  if (out.empty())
    return fail(Errc::invalid_argument,
                "the docker archive has no RepoTags: give a reference to import as");
  return out;
}

}  // namespace

Result<std::vector<ImageRecord>> import_archive(ImageStore& store, const fs::path& tar_path,
                                                std::optional<std::string_view> reference,
                                                const Platform& platform) {
  auto context = fmt::format("import {}", tar_path.string());
  std::optional<Reference> want_ref;
  if (reference) {
    auto ref = parse_reference(*reference);
    if (!ref) return std::unexpected(std::move(ref.error()).context(context));
    want_ref = std::move(*ref);
  }
  auto run = [&]() -> Result<std::vector<ImageRecord>> {
    RAIND_TRY_ASSIGN(auto files, ArchiveFiles::read(store, tar_path));
    std::vector<NamedImage> images;
    if (files.contains("oci-layout") && files.contains("index.json")) {
      RAIND_TRY_ASSIGN(images, select_oci(files, store, want_ref, platform));
    } else if (files.contains("manifest.json")) {
      RAIND_TRY_ASSIGN(images, select_docker(files, store, want_ref));
    } else {
      return fail(Errc::invalid_argument,
                  "neither an OCI image layout (oci-layout, index.json) nor a docker-archive "
                  "(manifest.json)");
    }
    // Unpack every layer first: an image is registered only once it can actually run.
    for (const auto& named : images)
      for (std::size_t i = 0; i < named.image.diff_ids.size(); ++i)
        RAIND_TRY(store.ensure_layer(named.image.diff_ids[i], named.image.layer_digests[i]));
    std::vector<ImageRecord> records;
    for (const auto& named : images) {
      ImageRecord record{named.name.to_string(),
                         named.image.manifest_digest,
                         named.image.config_digest,
                         named.image.layer_digests,
                         named.image.diff_ids,
                         0,
                         {}};
      RAIND_TRY(store.add_image(record));
      records.push_back(std::move(record));
    }
    return records;
  };
  return with_context(run(), context);
}

}  // namespace raind::condenser::images

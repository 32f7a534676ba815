#include "condenser/images/export.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "condenser/images/oci_manifest.hpp"
#include "condenser/images/reference.hpp"
#include "raind/scope_exit.hpp"
#include "raind/unique_fd.hpp"

namespace raind::condenser::images {
namespace {

namespace fs = std::filesystem;

struct ArchiveWriter {
  archive* a = archive_write_new();
  ~ArchiveWriter() { archive_write_free(a); }
  Error error(std::string_view what) const {
    const char* msg = archive_error_string(a);
    return Error(Errc::system, fmt::format("{}: {}", what, msg != nullptr ? msg : "unknown error"));
  }
  Status header(const std::string& name, std::int64_t size) {
    std::unique_ptr<archive_entry, decltype(&archive_entry_free)> e(archive_entry_new(),
                                                                    archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), 0644);
    archive_entry_set_size(e.get(), size);
    if (archive_write_header(a, e.get()) != ARCHIVE_OK) return std::unexpected(error(name));
    return ok();
  }
  Status data(std::string_view bytes) {
    if (bytes.empty()) return ok();
    if (archive_write_data(a, bytes.data(), bytes.size()) != static_cast<la_ssize_t>(bytes.size()))
      return std::unexpected(error("write archive data"));
    return ok();
  }
  Status small_file(const std::string& name, std::string_view content) {
    RAIND_TRY(header(name, static_cast<std::int64_t>(content.size())));
    return data(content);
  }
  Status file_from(const std::string& name, const fs::path& source) {
    UniqueFd fd(::open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return fail_errno(fmt::format("open {}", source.string()));
    std::error_code ec;
    auto size = fs::file_size(source, ec);
    if (ec) return fail_errno(ec.value(), fmt::format("stat {}", source.string()));
    RAIND_TRY(header(name, static_cast<std::int64_t>(size)));
    std::array<char, 1 << 16> buf;
    for (;;) {
      ssize_t n = ::read(fd.get(), buf.data(), buf.size());
      if (n < 0) return fail_errno(fmt::format("read {}", source.string()));
      if (n == 0) break;
      RAIND_TRY(data(std::string_view(buf.data(), static_cast<std::size_t>(n))));
    }
    return ok();
  }
};

std::string media_type_of_manifest(std::string_view json) {
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_object() && doc.contains("mediaType") && doc["mediaType"].is_string())
    return doc["mediaType"].get<std::string>();
  return std::string(kOciManifestType);
}

}  // namespace

Status export_images(const ImageStore& store, const std::vector<ImageRecord>& images,
                     const fs::path& out) {
  if (images.empty()) return failf(Errc::invalid_argument, "nothing to export");
  if (fs::exists(fs::symlink_status(out)))
    return failf(Errc::already_exists, "{} already exists", out.string());
  std::string tmp = out.string() + ".partial-XXXXXX";
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return fail_errno(fmt::format("create {}", tmp));
  ScopeExit remove_tmp([&] { ::unlink(tmp.c_str()); });

  ArchiveWriter w;
  archive_write_set_format_pax_restricted(w.a);
  if (archive_write_open_fd(w.a, fd.get()) != ARCHIVE_OK)
    return std::unexpected(w.error("open archive"));

  nlohmann::json index = {
      {"schemaVersion", 2}, {"mediaType", kOciIndexType}, {"manifests", nlohmann::json::array()}};
  std::set<std::string> blobs;
  for (const auto& image : images) {
    RAIND_TRY_ASSIGN(auto manifest, store.read_blob(image.manifest_digest));
    RAIND_TRY_ASSIGN(auto config_text, store.read_blob(image.config_digest));
    RAIND_TRY_ASSIGN(auto config, parse_image_config(config_text));
    for (const auto& digest : image.layer_digests)
      if (!store.has_blob(digest))
        return failf(Errc::not_found,
                     "layer blob {} of {} is no longer in the store (pull the image again)", digest,
                     image.reference);
    nlohmann::json annotations = nlohmann::json::object();
    annotations[std::string(kContainerdNameAnnotation)] = image.reference;
    if (auto ref = parse_reference(image.reference); ref && !ref->tag.empty())
      annotations[std::string(kRefNameAnnotation)] = ref->tag;
    index["manifests"].push_back(
        {{"mediaType", media_type_of_manifest(manifest)},
         {"digest", image.manifest_digest},
         {"size", manifest.size()},
         {"platform", {{"os", config.platform.os}, {"architecture", config.platform.architecture}}},
         {"annotations", annotations}});
    blobs.insert(image.manifest_digest);
    blobs.insert(image.config_digest);
    blobs.insert(image.layer_digests.begin(), image.layer_digests.end());
  }
  RAIND_TRY(w.small_file("oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  RAIND_TRY(w.small_file("index.json", index.dump()));
  for (const auto& digest : blobs)
    RAIND_TRY(w.file_from("blobs/sha256/" + digest.substr(7), store.blob_path(digest)));
  if (archive_write_close(w.a) != ARCHIVE_OK) return std::unexpected(w.error("finish archive"));
  if (::fchmod(fd.get(), 0644) != 0 || ::fsync(fd.get()) != 0)
    return fail_errno(fmt::format("sync {}", tmp));
  if (::rename(tmp.c_str(), out.c_str()) != 0)
    return fail_errno(fmt::format("rename to {}", out.string()));
  remove_tmp.dismiss();
  return ok();
}

}  // namespace raind::condenser::images

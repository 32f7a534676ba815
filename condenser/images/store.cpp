#include "condenser/images/store.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <set>

#include "condenser/images/layer_unpack.hpp"
#include "condenser/images/oci_manifest.hpp"
#include "condenser/images/reference.hpp"
#include "condenser/images/sha256_stream.hpp"
#include "raind/atomic_file.hpp"
#include "raind/scope_exit.hpp"
#include "raind/sys/files.hpp"
#include "raind/unique_fd.hpp"

namespace raind::condenser::images {
namespace {

namespace fs = std::filesystem;

std::string_view digest_hex(std::string_view digest) {
  return digest.substr(digest.find(':') + 1);
}

Result<fs::path> make_temp_dir(const fs::path& parent, std::string_view prefix) {
  std::string tmpl = (parent / (std::string(prefix) + "XXXXXX")).string();
  if (::mkdtemp(tmpl.data()) == nullptr)
    return fail_errno(fmt::format("create temporary directory in {}", parent.string()));
  return fs::path(tmpl);
}

bool is_hex_prefix(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

bool matches_reference(const ImageRecord& record, const Reference& want) {
  if (want.digest.empty()) return record.reference == want.to_string();
  auto have = parse_reference(record.reference);
  if (!have || have->registry != want.registry || have->repository != want.repository) return false;
  return (record.manifest_digest == want.digest || record.index_digest == want.digest) &&
         (want.tag.empty() || have->tag == want.tag);
}

}  // namespace

Result<ImageStore> ImageStore::open(const fs::path& root) {
  RAIND_TRY(sys::mkdir_p(root, 0700));
  for (const char* sub : {"blobs/sha256", "layers", "images", "tmp"})
    RAIND_TRY(sys::mkdir_p(root / sub, 0700));
  return ImageStore(root);
}

// --- blobs ---------------------------------------------------------------------------------

fs::path ImageStore::blob_path(std::string_view digest) const {
  return root_ / "blobs" / "sha256" / std::string(digest_hex(digest));
}

bool ImageStore::has_blob(std::string_view digest) const {
  return is_sha256_digest(digest) && sys::exists(blob_path(digest));
}

Result<std::string> ImageStore::put_blob(const BlobSource& source,
                                         std::optional<std::string_view> expected_digest) {
  if (expected_digest && !is_sha256_digest(*expected_digest))
    return failf(Errc::invalid_argument, "invalid blob digest '{}'", *expected_digest);
  std::string tmp = (root_ / "tmp" / "blob-XXXXXX").string();
  UniqueFd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd) return fail_errno(fmt::format("create temporary blob in {}", (root_ / "tmp").string()));
  ScopeExit remove_tmp([&] { ::unlink(tmp.c_str()); });

  Sha256Stream hash;
  for (;;) {
    RAIND_TRY_ASSIGN(std::string_view chunk, source());
    if (chunk.empty()) break;
    hash.update(chunk.data(), chunk.size());
    RAIND_TRY(with_context(sys::write_all(fd.get(), chunk), "write blob"));
  }
  std::string digest = hash.finish();
  if (expected_digest && digest != *expected_digest)
    return failf(Errc::integrity, "blob digest mismatch: expected {}, got {}", *expected_digest,
                 digest);
  if (::fchmod(fd.get(), 0644) != 0 || ::fsync(fd.get()) != 0) return fail_errno("sync blob");
  // Same content under the same name: replacing a concurrent writer's copy is harmless.
  if (::rename(tmp.c_str(), blob_path(digest).c_str()) != 0)
    return fail_errno(fmt::format("store blob {}", digest));
  remove_tmp.dismiss();
  return digest;
}

Result<std::string> ImageStore::put_blob_bytes(std::string_view bytes,
                                               std::optional<std::string_view> expected_digest) {
  bool done = false;
  return put_blob(
      [&]() -> Result<std::string_view> {
        if (done) return std::string_view{};
        done = true;
        return bytes;
      },
      expected_digest);
}

fs::path ImageStore::partial_blob_path(std::string_view digest) const {
  return root_ / "tmp" / ("partial-" + std::string(digest_hex(digest)));
}

Status ImageStore::adopt_blob(const fs::path& file, std::string_view digest) {
  if (!is_sha256_digest(digest))
    return failf(Errc::invalid_argument, "invalid digest '{}'", digest);
  if (::chmod(file.c_str(), 0644) != 0) return fail_errno(fmt::format("chmod {}", file.string()));
  if (::rename(file.c_str(), blob_path(digest).c_str()) != 0)
    return fail_errno(fmt::format("store blob {}", digest));
  return ok();
}

Result<std::string> ImageStore::read_blob(std::string_view digest, std::size_t max_size) const {
  if (!is_sha256_digest(digest))
    return failf(Errc::invalid_argument, "invalid digest '{}'", digest);
  std::error_code ec;
  auto size = fs::file_size(blob_path(digest), ec);
  if (ec) return failf(Errc::not_found, "blob {} is not in the store", digest);
  if (size > max_size)
    return failf(Errc::invalid_argument, "blob {} is {} bytes, more than the {} allowed", digest,
                 size, max_size);
  return sys::read_file(blob_path(digest));
}

// --- layers --------------------------------------------------------------------------------

fs::path ImageStore::layer_dir(std::string_view diff_id) const {
  return root_ / "layers" / std::string(digest_hex(diff_id)) / "fs";
}

bool ImageStore::has_layer(std::string_view diff_id) const {
  return is_sha256_digest(diff_id) && sys::exists(layer_dir(diff_id));
}

Result<fs::path> ImageStore::ensure_layer(std::string_view diff_id, std::string_view blob_digest) {
  if (!is_sha256_digest(diff_id) || !is_sha256_digest(blob_digest))
    return failf(Errc::invalid_argument, "invalid layer digests '{}' / '{}'", diff_id, blob_digest);
  fs::path final_dir = layer_dir(diff_id).parent_path();
  if (sys::exists(final_dir / "fs")) return final_dir / "fs";
  if (!has_blob(blob_digest))
    return failf(Errc::not_found, "layer blob {} is not in the store", blob_digest);

  // Unpack beside the final place, then rename: readers never see a half-unpacked layer, and
  // of two concurrent unpackers one rename wins and the other discards its copy.
  RAIND_TRY_ASSIGN(fs::path tmp, make_temp_dir(root_ / "layers", ".tmp-"));
  ScopeExit remove_tmp([&] { (void)sys::remove_all_xdev(tmp); });
  auto stats = unpack_layer(blob_path(blob_digest), tmp / "fs");
  if (!stats)
    return std::unexpected(std::move(stats.error()).context(fmt::format("layer {}", diff_id)));
  if (stats->diff_id != diff_id)
    return failf(Errc::integrity, "layer {} unpacks to diff-id {}, expected {}", blob_digest,
                 stats->diff_id, diff_id);
  if (::chmod(tmp.c_str(), 0700) != 0) return fail_errno("chmod layer directory");
  if (::rename(tmp.c_str(), final_dir.c_str()) != 0) {
    if (errno != EEXIST && errno != ENOTEMPTY)
      return fail_errno(fmt::format("store layer {}", diff_id));
    // Another unpacker finished first; ours is removed by remove_tmp.
  } else {
    remove_tmp.dismiss();
  }
  return final_dir / "fs";
}

// --- images --------------------------------------------------------------------------------

Result<std::vector<ImageRecord>> ImageStore::read_index() const {
  if (!sys::exists(index_path())) return std::vector<ImageRecord>{};
  RAIND_TRY_ASSIGN(std::string text, sys::read_file(index_path()));
  return with_context(parse_image_index(text), index_path().string());
}

Status ImageStore::update_index(const std::function<Status(std::vector<ImageRecord>&)>& fn) {
  // flock on a separate file: index.json itself is replaced by rename on every write.
  fs::path lock_path = root_ / "images" / "index.lock";
  UniqueFd lock(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock) return fail_errno(fmt::format("open {}", lock_path.string()));
  while (::flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return fail_errno(fmt::format("lock {}", lock_path.string()));
  }
  RAIND_TRY_ASSIGN(auto images, read_index());
  RAIND_TRY(fn(images));
  return write_file_atomic(index_path(), serialize_image_index(images), 0600);
}

Status ImageStore::add_image(const ImageRecord& record) {
  auto ref = parse_reference(record.reference);
  if (!ref) return std::unexpected(std::move(ref.error()));
  if (ref->to_string() != record.reference)
    return failf(Errc::invalid_argument, "image reference '{}' is not canonical ('{}')",
                 record.reference, ref->to_string());
  ImageRecord stored = record;
  if (stored.created_unix == 0)
    stored.created_unix = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count();
  return update_index([&](std::vector<ImageRecord>& images) -> Status {
    std::erase_if(images, [&](const ImageRecord& r) { return r.reference == stored.reference; });
    images.push_back(stored);
    return ok();
  });
}

Result<std::vector<ImageRecord>> ImageStore::list_images() const {
  return read_index();
}

Result<ImageRecord> ImageStore::find_image(std::string_view name) const {
  RAIND_TRY_ASSIGN(auto images, read_index());
  if (auto ref = parse_reference(name)) {
    // The record stored under exactly this name first: "repo@<index digest>" must not resolve
    // to another platform's record chosen from the same index under a tag.
    for (const auto& image : images)
      if (image.reference == ref->to_string()) return image;
    for (const auto& image : images)
      if (matches_reference(image, *ref)) return image;
  }
  std::string_view id = name;
  if (id.starts_with("sha256:")) id.remove_prefix(7);
  if (is_hex_prefix(id)) {
    const ImageRecord* found = nullptr;
    for (const auto& image : images) {
      if (!image.id().starts_with(id)) continue;
      if (found != nullptr && found->id() != image.id())
        return failf(Errc::conflict, "image id prefix '{}' is ambiguous", name);
      found = &image;
    }
    if (found != nullptr) return *found;
  }
  return failf(Errc::not_found, "image '{}' not found", name);
}

Result<std::vector<ImageRecord>> ImageStore::remove_image(std::string_view name) {
  std::vector<ImageRecord> removed;
  RAIND_TRY(update_index([&](std::vector<ImageRecord>& images) -> Status {
    auto ref = parse_reference(name);
    auto by_ref = [&](const ImageRecord& r) { return ref && matches_reference(r, *ref); };
    if (std::any_of(images.begin(), images.end(), by_ref)) {
      for (auto& image : images)
        if (by_ref(image)) removed.push_back(image);
      std::erase_if(images, by_ref);
      return ok();
    }
    // Not a known reference: an image id (or prefix) removes every tag of that image.
    std::string_view id = name;
    if (id.starts_with("sha256:")) id.remove_prefix(7);
    if (!is_hex_prefix(id)) return failf(Errc::not_found, "image '{}' not found", name);
    std::set<std::string> ids;
    for (const auto& image : images)
      if (image.id().starts_with(id)) ids.insert(image.id());
    if (ids.empty()) return failf(Errc::not_found, "image '{}' not found", name);
    if (ids.size() > 1) return failf(Errc::conflict, "image id prefix '{}' is ambiguous", name);
    auto by_id = [&](const ImageRecord& r) { return r.id() == *ids.begin(); };
    for (auto& image : images)
      if (by_id(image)) removed.push_back(image);
    std::erase_if(images, by_id);
    return ok();
  }));
  return removed;
}

Result<std::vector<fs::path>> ImageStore::lowerdirs(const ImageRecord& image) const {
  std::vector<fs::path> dirs;
  for (auto it = image.diff_ids.rbegin(); it != image.diff_ids.rend(); ++it) {
    if (!has_layer(*it))
      return failf(Errc::not_found, "layer {} of image {} is not unpacked", *it, image.reference);
    dirs.push_back(layer_dir(*it));
  }
  return dirs;
}

Status ImageStore::remove_temporaries() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_ / "tmp", ec)) {
    if (!entry.path().filename().string().starts_with("partial-"))
      RAIND_TRY(sys::remove_all_xdev(entry.path()));
  }
  for (const auto& entry : fs::directory_iterator(root_ / "layers", ec)) {
    if (entry.path().filename().string().starts_with(".tmp-"))
      RAIND_TRY(sys::remove_all_xdev(entry.path()));
  }
  if (ec) return fail_errno(ec.value(), fmt::format("list {}", (root_ / "layers").string()));
  return ok();
}

}  // namespace raind::condenser::images

namespace raind::condenser::images {
namespace {
std::uint64_t tree_bytes(const std::filesystem::path& dir) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
  }
  return total;
}
}  // namespace

Result<ImageStore::GcStats> ImageStore::collect_garbage(
    const std::vector<std::string>& keep_configs) {
  GcStats stats;
  // Under the index lock so that no record appears between reading and deleting.
  auto collected = update_index([&](std::vector<ImageRecord>& records) -> Status {
    std::set<std::string> blobs(keep_configs.begin(), keep_configs.end());
    std::set<std::string> layers;
    for (const auto& r : records) {
      blobs.insert(r.manifest_digest);
      blobs.insert(r.config_digest);
      if (!r.index_digest.empty()) blobs.insert(r.index_digest);
      blobs.insert(r.layer_digests.begin(), r.layer_digests.end());
      layers.insert(r.diff_ids.begin(), r.diff_ids.end());
    }
    for (const auto& config : keep_configs) {
      auto text = read_blob(config);
      if (!text) continue;
      auto info = parse_image_config(*text);
      if (info) layers.insert(info->diff_ids.begin(), info->diff_ids.end());
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(root_ / "blobs" / "sha256", ec)) {
      if (blobs.contains("sha256:" + entry.path().filename().string())) continue;
      std::error_code size_ec;
      auto size = fs::file_size(entry.path(), size_ec);
      if (::unlink(entry.path().c_str()) != 0)
        return fail_errno("remove blob " + entry.path().string());
      stats.blobs_removed++;
      if (!size_ec) stats.bytes_freed += size;
    }
    for (const auto& entry : fs::directory_iterator(root_ / "layers", ec)) {
      auto name = entry.path().filename().string();
      if (name.starts_with(".tmp-") || layers.contains("sha256:" + name)) continue;
      stats.bytes_freed += tree_bytes(entry.path());
      RAIND_TRY(sys::remove_all_xdev(entry.path()));
      stats.layers_removed++;
    }
    for (const auto& entry : fs::directory_iterator(root_ / "tmp", ec)) {
      if (!entry.path().filename().string().starts_with("partial-")) continue;
      std::error_code size_ec;
      auto size = fs::file_size(entry.path(), size_ec);
      if (::unlink(entry.path().c_str()) == 0) {
        stats.partials_removed++;
        if (!size_ec) stats.bytes_freed += size;
      }
    }
    return ok();
  });
  if (!collected) return std::unexpected(std::move(collected.error()));
  return stats;
}
}  // namespace raind::condenser::images

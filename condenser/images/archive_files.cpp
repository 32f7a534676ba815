#include "condenser/images/archive_files.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <vector>

#include "condenser/images/reference.hpp"

namespace raind::condenser::images {
namespace {

constexpr la_int64_t kSmallFileLimit = 1 << 20;
// Small files are held in memory: bound their total so a hostile archive cannot exhaust it.
constexpr std::size_t kSmallFilesTotalLimit = 64u << 20;
constexpr int kMaxLinkDepth = 8;
constexpr std::string_view kBlobDir = "blobs/sha256/";

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

std::string dir_of(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

}  // namespace

std::optional<std::string> normalize_archive_path(std::string_view path) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    auto part = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (part == "..") {
      if (parts.empty()) return std::nullopt;
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string out;
  for (auto part : parts) {
    if (!out.empty()) out += '/';
    out += part;
  }
  return out;
}

namespace {
// libarchive can fail without a message; fmt throws on a null string.
const char* archive_message(archive* a) {
  const char* msg = archive_error_string(a);
  return msg != nullptr ? msg : "unknown error";
}
}  // namespace

Result<ArchiveFiles> ArchiveFiles::read(ImageStore& store, const std::filesystem::path& tar_path) {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
  if (!a) return fail(Errc::internal, "libarchive: out of memory");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), tar_path.c_str(), 128 * 1024) != ARCHIVE_OK)
    return failf(Errc::parse, "open image archive {}: {}", tar_path.string(),
                 archive_message(a.get()));
  auto archive_error = [&](std::string_view what) {
    return failf(Errc::parse, "image archive {}: {}: {}", tar_path.string(), what,
                 archive_message(a.get()));
  };

  ArchiveFiles files(store);
  std::size_t small_total = 0;
  for (;;) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return archive_error("read header");
    const char* raw = archive_entry_pathname(entry);
    auto path = normalize_archive_path(raw != nullptr ? raw : "");
    if (!path || path->empty()) continue;  // nothing an importer would look up

    if (const char* hardlink = archive_entry_hardlink(entry)) {
      if (auto target = normalize_archive_path(hardlink)) files.links_[*path] = *target;
      continue;
    }
    auto type = archive_entry_filetype(entry);
    if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(entry);
      std::string joined = target != nullptr && *target == '/'
                               ? std::string(target)
                               : dir_of(*path) + "/" + (target != nullptr ? target : "");
      if (auto resolved = normalize_archive_path(joined)) files.links_[*path] = *resolved;
      continue;
    }
    if (type != AE_IFREG) continue;

    bool in_blob_dir = path->starts_with(kBlobDir);
    if (!in_blob_dir && archive_entry_size_is_set(entry) &&
        archive_entry_size(entry) <= kSmallFileLimit) {
      small_total += static_cast<std::size_t>(archive_entry_size(entry));
      if (small_total > kSmallFilesTotalLimit)
        return failf(Errc::invalid_argument,
                     "image archive {}: more than {} bytes of metadata files", tar_path.string(),
                     kSmallFilesTotalLimit);
      std::string content;
      content.resize(static_cast<std::size_t>(archive_entry_size(entry)));
      la_ssize_t n = archive_read_data(a.get(), content.data(), content.size());
      if (n < 0 || static_cast<std::size_t>(n) != content.size())
        return archive_error(fmt::format("read {}", *path));
      files.small_[*path] = std::move(content);
      continue;
    }
    // An OCI blob's name is its digest: verify while storing (mismatch stores nothing).
    std::optional<std::string> expected;
    if (in_blob_dir) {
      std::string digest = "sha256:" + path->substr(kBlobDir.size());
      if (!is_sha256_digest(digest))
        return failf(Errc::parse, "image archive {}: blob name '{}' is not a sha256 digest",
                     tar_path.string(), *path);
      expected = std::move(digest);
    }
    la_int64_t expected_offset = 0;
    auto digest = store.put_blob(
        [&]() -> Result<std::string_view> {
          const void* block = nullptr;
          size_t size = 0;
          la_int64_t offset = 0;
          int data_rc = archive_read_data_block(a.get(), &block, &size, &offset);
          if (data_rc == ARCHIVE_EOF) return std::string_view{};
          if (data_rc < ARCHIVE_WARN) return archive_error(fmt::format("read {}", *path));
          if (offset != expected_offset)
            return failf(Errc::parse, "image archive: sparse file {} is not a blob", *path);
          expected_offset += static_cast<la_int64_t>(size);
          return std::string_view(static_cast<const char*>(block), size);
        },
        expected);
    if (!digest) return std::unexpected(std::move(digest.error()).context(*path));
    files.blobs_[*path] = std::move(*digest);
  }
  return files;
}

std::optional<std::string> ArchiveFiles::resolve(std::string_view path) const {
  auto normalized = normalize_archive_path(path);
  if (!normalized) return std::nullopt;
  std::string current = std::move(*normalized);
  for (int depth = 0; depth <= kMaxLinkDepth; ++depth) {
    if (small_.contains(current) || blobs_.contains(current)) return current;
    auto link = links_.find(current);
    if (link == links_.end()) return std::nullopt;
    current = link->second;
  }
  return std::nullopt;
}

bool ArchiveFiles::contains(std::string_view path) const {
  return resolve(path).has_value();
}

Result<std::string> ArchiveFiles::bytes(std::string_view path) const {
  auto resolved = resolve(path);
  if (!resolved) return failf(Errc::not_found, "'{}' is not in the image archive", path);
  if (auto it = small_.find(*resolved); it != small_.end()) return it->second;
  return store_->read_blob(blobs_.find(*resolved)->second);
}

Result<std::string> ArchiveFiles::blob(std::string_view path) {
  auto resolved = resolve(path);
  if (!resolved) return failf(Errc::not_found, "'{}' is not in the image archive", path);
  if (auto it = blobs_.find(*resolved); it != blobs_.end()) return it->second;
  RAIND_TRY_ASSIGN(std::string digest, store_->put_blob_bytes(small_.find(*resolved)->second));
  blobs_[*resolved] = digest;
  return digest;
}

}  // namespace raind::condenser::images

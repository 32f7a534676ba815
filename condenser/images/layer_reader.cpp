#include "condenser/images/layer_reader.hpp"

#include <cerrno>

namespace raind::condenser::images {
namespace {

// libarchive can fail without a message (archive_error_string is then null, which fmt refuses
// with an exception).
const char* message(archive* a) {
  const char* msg = archive_error_string(a);
  return msg != nullptr ? msg : "unknown error";
}

}  // namespace

Result<std::unique_ptr<LayerReader>> LayerReader::open(int fd) {
  std::unique_ptr<LayerReader> reader(new LayerReader());
  reader->outer_ = archive_read_new();
  reader->inner_ = archive_read_new();
  if (reader->outer_ == nullptr || reader->inner_ == nullptr)
    return fail(Errc::internal, "libarchive: out of memory");
  // filter_all: gzip, zstd, xz, bzip2…, each through the library or an external program.
  archive_read_support_filter_all(reader->outer_);
  archive_read_support_format_raw(reader->outer_);
  if (archive_read_open_fd(reader->outer_, fd, 128 * 1024) != ARCHIVE_OK)
    return fail(Errc::parse, fmt::format("open layer stream: {}", message(reader->outer_)));
  archive_entry* raw = nullptr;
  int rc = archive_read_next_header(reader->outer_, &raw);
  if (rc == ARCHIVE_EOF) {
    reader->outer_eof_ = true;
  } else if (rc < ARCHIVE_WARN) {
    return fail(Errc::parse, fmt::format("read layer stream: {}", message(reader->outer_)));
  }
  archive_read_support_format_tar(reader->inner_);
  if (archive_read_open(reader->inner_, reader.get(), nullptr, &LayerReader::read_decompressed,
                        nullptr) != ARCHIVE_OK)
    return fail(Errc::parse, fmt::format("open layer tar: {}", message(reader->inner_)));
  return reader;
}

LayerReader::~LayerReader() {
  if (inner_ != nullptr) archive_read_free(inner_);
  if (outer_ != nullptr) archive_read_free(outer_);
}

la_ssize_t LayerReader::read_decompressed(archive* inner, void* self, const void** buffer) {
  auto* reader = static_cast<LayerReader*>(self);
  if (reader->outer_eof_) return 0;
  const void* block = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int rc = archive_read_data_block(reader->outer_, &block, &size, &offset);
  if (rc == ARCHIVE_EOF) {
    reader->outer_eof_ = true;
    return 0;
  }
  if (rc < ARCHIVE_WARN) {
    archive_set_error(inner, EIO, "decompress: %s", message(reader->outer_));
    return -1;
  }
  reader->hash_.update(block, size);
  *buffer = block;
  return static_cast<la_ssize_t>(size);
}

Result<archive_entry*> LayerReader::next() {
  archive_entry* entry = nullptr;
  int rc = archive_read_next_header(inner_, &entry);
  if (rc == ARCHIVE_EOF) return static_cast<archive_entry*>(nullptr);
  if (rc < ARCHIVE_WARN) return std::unexpected(error("read tar header"));
  if (rc == ARCHIVE_WARN) {
    // A warning means libarchive dropped part of the header (e.g. a pax record over its 1 MiB
    // limit, and every record after it), so the entry would not be what other readers see.
    // Only a name that cannot be converted to the locale is harmless: the raw bytes are kept.
    const char* msg = archive_error_string(inner_);
    if (msg == nullptr || std::string_view(msg).find("converted") == std::string_view::npos)
      return std::unexpected(error("tar header partly ignored"));
  }
  return entry;
}

Error LayerReader::error(std::string_view what) {
  const char* msg = archive_error_string(inner_);
  return Error(Errc::parse, fmt::format("{}: {}", what, msg != nullptr ? msg : "unknown error"));
}

Result<std::string> LayerReader::finish_diff_id() {
  // The tar reader stops at the end marker; the diff-id covers the stream to its last byte.
  const void* block = nullptr;
  while (!outer_eof_) {
    la_ssize_t n = read_decompressed(inner_, this, &block);
    if (n < 0) return std::unexpected(error("read layer tail"));
  }
  return hash_.finish();
}

}  // namespace raind::condenser::images

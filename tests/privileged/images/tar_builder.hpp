#pragma once
// Builds layer tarballs in memory with libarchive's write API, so tests can craft exactly the
// entries (hostile ones included) that a real tar tool would refuse to produce.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace raind::condenser::images::testing {

class TarBuilder {
 public:
  TarBuilder() : a_(archive_write_new()) {
    archive_write_set_format_pax(a_);
    archive_write_set_bytes_in_last_block(a_, 1);
    if (archive_write_open(a_, &out_, nullptr, &TarBuilder::append, nullptr) != ARCHIVE_OK)
      throw std::runtime_error(archive_error_string(a_));
  }
  ~TarBuilder() { archive_write_free(a_); }
  TarBuilder(const TarBuilder&) = delete;
  TarBuilder& operator=(const TarBuilder&) = delete;

  TarBuilder& file(const std::string& path, const std::string& content, mode_t mode = 0644,
                   la_int64_t uid = 0, la_int64_t gid = 0,
                   const std::map<std::string, std::string>& xattrs = {}, time_t mtime = 1000000) {
    archive_entry* e = entry(path, AE_IFREG, mode, uid, gid, mtime);
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    for (const auto& [name, value] : xattrs)
      archive_entry_xattr_add_entry(e, name.c_str(), value.data(), value.size());
    write(e, content);
    return *this;
  }
  TarBuilder& dir(const std::string& path, mode_t mode = 0755, time_t mtime = 1000000) {
    write(entry(path, AE_IFDIR, mode, 0, 0, mtime));
    return *this;
  }
  TarBuilder& symlink(const std::string& path, const std::string& target) {
    archive_entry* e = entry(path, AE_IFLNK, 0777, 0, 0, 1000000);
    archive_entry_set_symlink(e, target.c_str());
    write(e);
    return *this;
  }
  TarBuilder& hardlink(const std::string& path, const std::string& target) {
    archive_entry* e = entry(path, AE_IFREG, 0644, 0, 0, 1000000);
    archive_entry_set_hardlink(e, target.c_str());
    archive_entry_set_size(e, 0);
    write(e);
    return *this;
  }
  TarBuilder& device(const std::string& path, mode_t type, unsigned major, unsigned minor) {
    archive_entry* e = entry(path, type, 0666, 0, 0, 1000000);
    archive_entry_set_rdevmajor(e, major);
    archive_entry_set_rdevminor(e, minor);
    write(e);
    return *this;
  }
  TarBuilder& fifo(const std::string& path) {
    write(entry(path, AE_IFIFO, 0600, 0, 0, 1000000));
    return *this;
  }
  // The uncompressed tar stream.
  std::string finish() {
    archive_write_close(a_);
    return out_;
  }

 private:
  static la_ssize_t append(archive*, void* self, const void* buf, size_t n) {
    static_cast<std::string*>(self)->append(static_cast<const char*>(buf), n);
    return static_cast<la_ssize_t>(n);
  }
  archive_entry* entry(const std::string& path, mode_t type, mode_t mode, la_int64_t uid,
                       la_int64_t gid, time_t mtime) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, mode);
    archive_entry_set_uid(e, uid);
    archive_entry_set_gid(e, gid);
    archive_entry_set_mtime(e, mtime, 0);
    return e;
  }
  void write(archive_entry* e, const std::string& content = {}) {
    if (archive_write_header(a_, e) != ARCHIVE_OK)
      throw std::runtime_error(archive_error_string(a_));
    if (!content.empty() && archive_write_data(a_, content.data(), content.size()) < 0)
      throw std::runtime_error(archive_error_string(a_));
    archive_entry_free(e);
  }

  archive* a_;
  std::string out_;
};

// Compresses a byte stream ("gzip" or "zstd") with libarchive's raw format.
inline std::string compress(const std::string& data, const std::string& filter) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_raw(a);
  int rc = filter == "gzip" ? archive_write_add_filter_gzip(a) : archive_write_add_filter_zstd(a);
  if (rc != ARCHIVE_OK) throw std::runtime_error("filter " + filter + " unavailable");
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(
      a, &out, nullptr,
      [](archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(self)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
      },
      nullptr);
  archive_entry* e = archive_entry_new();
  archive_entry_set_pathname(e, "data");
  archive_entry_set_filetype(e, AE_IFREG);
  archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
  archive_write_header(a, e);
  archive_write_data(a, data.data(), data.size());
  archive_entry_free(e);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

// Hand-made tar blocks, for entries libarchive's writer will not produce: a header that claims
// far more data than follows (the writer would pad the entry to its full size on close).

// One 512-byte ustar header. size is written in octal when it fits the 11-digit field, else in
// GNU base-256 (as tar does for files over 8 GiB).
inline std::string ustar_header(const std::string& name, char typeflag, std::uint64_t size,
                                unsigned mode = 0644) {
  std::string h(512, '\0');
  auto put = [&h](std::size_t off, std::size_t len, const std::string& s) {
    std::copy_n(s.begin(), std::min(len, s.size()), h.begin() + static_cast<long>(off));
  };
  char buf[32];
  put(0, 100, name);
  std::snprintf(buf, sizeof(buf), "%07o", mode & 07777);
  put(100, 8, buf);
  put(108, 8, "0000000");
  put(116, 8, "0000000");
  if (size <= 077777777777ULL) {
    std::snprintf(buf, sizeof(buf), "%011llo", static_cast<unsigned long long>(size));
    put(124, 12, buf);
  } else {
    h[124] = static_cast<char>(0x80);
    for (int i = 0; i < 8; ++i)
      h[135 - static_cast<std::size_t>(i)] = static_cast<char>((size >> (8 * i)) & 0xff);
  }
  put(136, 12, "00003641100");  // mtime 1000000
  h[156] = typeflag;
  put(257, 6, std::string("ustar\0", 6));
  put(263, 2, "00");
  std::fill_n(h.begin() + 148, 8, ' ');
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  std::snprintf(buf, sizeof(buf), "%06o", sum);
  put(148, 6, buf);
  h[154] = '\0';
  h[155] = ' ';
  return h;
}

// Zero padding up to the next 512-byte boundary.
inline std::string tar_pad(std::size_t n) {
  return std::string((512 - n % 512) % 512, '\0');
}

// One pax record, "<len> key=value\n", where len counts the whole record including itself.
inline std::string pax_record(const std::string& key, const std::string& value) {
  std::size_t body = key.size() + value.size() + 3;  // ' ', '=', '\n'
  std::size_t len = body + 1;
  while (std::to_string(len).size() + body != len) len = std::to_string(len).size() + body;
  return std::to_string(len) + " " + key + "=" + value + "\n";
}

// A pax extended header ('x') carrying records, padded to a block boundary.
inline std::string pax_header(const std::vector<std::pair<std::string, std::string>>& records) {
  std::string body;
  for (const auto& [key, value] : records) body += pax_record(key, value);
  return ustar_header("PaxHeaders/x", 'x', body.size()) + body + tar_pad(body.size());
}

// The end-of-archive marker: two zero blocks.
inline std::string tar_end() {
  return std::string(1024, '\0');
}

}  // namespace raind::condenser::images::testing

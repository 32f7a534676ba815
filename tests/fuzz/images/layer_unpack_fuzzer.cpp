// The layer unpacker (condenser/images/layer_unpack.cpp) on tar streams built from the input.
//
// Input: one mode byte, then a sequence of entries this target turns into a real tar stream with
// libarchive's writer (pax or GNU format; no compression, gzip or zstd), which is unpacked into a
// fresh directory on tmpfs. Mode 3 feeds the remaining bytes to the unpacker as they are.
// Each entry: type, path, link target, mode, owner, mtime, device numbers, an xattr choice and
// file content. Paths are made of hostile pieces (absolute, "..", ".", empty, whiteouts, "dev")
// and names that all start with "rdfz", so anything written outside the destination is found by
// looking for "rdfz" names in the places an escape could reach.
//
// The process runs in its own mount namespace where every mount is read-only except a fresh
// tmpfs on /dev/shm (the unpack area) and libFuzzer's output directories, so a bug cannot damage
// the host: an escaping write fails with EROFS and a hardlink to a host file with EXDEV, and
// both count as violations.
//
// Invariants: nothing appears outside the destination (and no EROFS/EXDEV); a failed unpack
// leaves no destination; a successful one reports the sha256 of the uncompressed stream as
// diff-id and holds no device node outside dev/ other than whiteouts (char 0/0).
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <ftw.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "condenser/images/layer_unpack.hpp"
#include "fuzz_check.hpp"
#include "raind/digest.hpp"
#include "raind/unique_fd.hpp"

namespace fs = std::filesystem;
namespace images = raind::condenser::images;

namespace {

constexpr std::string_view kMarker = "rdfz";
constexpr std::size_t kMaxEntries = 48;
constexpr std::size_t kMaxContent = 4096;

// Reads the input front to back; past the end every read is 0.
class Bytes {
 public:
  Bytes(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return at_ >= size_; }
  std::uint8_t u8() { return at_ < size_ ? data_[at_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() << 8 | u8()); }
  std::string_view take(std::size_t n) {
    n = std::min(n, size_ - std::min(at_, size_));
    std::string_view out(reinterpret_cast<const char*>(data_ + at_), n);
    at_ += n;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

std::string component(Bytes& in) {
  static constexpr std::string_view kPieces[] = {
      "rdfz_a",     "rdfz_b",       "rdfz_c",    "dev",  "..",    ".",     "",           "rdfz_d",
      ".wh.rdfz_a", ".wh..wh..opq", ".wh..wh.x", ".wh.", ".wh..", ".wh..", ".wh.rdfz_b", "rdfz_e"};
  std::uint8_t choice = in.u8();
  if (choice < 0xf0) return std::string(kPieces[choice % std::size(kPieces)]);
  // A generated name: "rdfz" and up to 15 characters of [a-z0-9._-].
  static constexpr std::string_view kChars = "abcdefghijklmnopqrstuvwxyz0123456789._-";
  std::string name(kMarker);
  for (int n = choice & 0x0f; n > 0; --n) name += kChars[in.u8() % kChars.size()];
  return name;
}

// Flags: bit 0 absolute, bit 1 trailing slash, bits 2-4 component count.
std::string entry_path(Bytes& in) {
  std::uint8_t flags = in.u8();
  std::string path = (flags & 1) ? "/" : "";
  int parts = 1 + ((flags >> 2) & 7);
  for (int i = 0; i < parts; ++i) {
    if (i > 0) path += '/';
    path += component(in);
  }
  if (flags & 2) path += '/';
  return path;
}

struct Generated {
  std::string plain;       // the uncompressed tar stream
  std::string compressed;  // what the unpacker reads
};

la_ssize_t append_output(archive*, void* out, const void* buffer, size_t length) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(buffer), length);
  return static_cast<la_ssize_t>(length);
}

struct Writer {
  archive* a = archive_write_new();
  ~Writer() { archive_write_free(a); }
};

// Writes the entries with the given filter (ARCHIVE_FILTER_NONE, _GZIP, _ZSTD); false when
// libarchive refuses an entry (then the stream is not used).
bool write_tar(std::uint8_t mode, std::string_view entries, int filter, std::string& out) {
  Writer w;
  if (mode & 4)
    archive_write_set_format_gnutar(w.a);
  else
    archive_write_set_format_pax_restricted(w.a);
  if (filter == ARCHIVE_FILTER_GZIP && archive_write_add_filter_gzip(w.a) != ARCHIVE_OK)
    return false;
  if (filter == ARCHIVE_FILTER_ZSTD && archive_write_add_filter_zstd(w.a) != ARCHIVE_OK)
    return false;
  // No blocking: the uncompressed stream is then the same with and without a filter.
  archive_write_set_bytes_per_block(w.a, 0);
  if (archive_write_open(w.a, &out, nullptr, append_output, nullptr) != ARCHIVE_OK) return false;

  Bytes in(reinterpret_cast<const std::uint8_t*>(entries.data()), entries.size());
  for (std::size_t n = 0; n < kMaxEntries && !in.empty(); ++n) {
    archive_entry* e = archive_entry_new();
    const std::uint8_t type = in.u8();
    const std::string path = entry_path(in);
    const std::string target = entry_path(in);
    archive_entry_set_pathname(e, path.c_str());
    archive_entry_set_perm(e, in.u16() & 07777);
    archive_entry_set_uid(e, in.u8() % 4);
    archive_entry_set_gid(e, in.u8() % 4);
    archive_entry_set_mtime(e, 1700000000 + in.u8() * 3600, 0);
    const unsigned major = in.u8() % 8, minor = in.u8();
    const std::uint8_t xattr = in.u8();
    std::string_view content = in.take(in.u16() % (kMaxContent + 1));
    switch (type % 8) {
      case 0:
      case 7:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
        break;
      case 1:
        archive_entry_set_filetype(e, AE_IFDIR);
        break;
      case 2:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, target.c_str());
        break;
      case 3:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, target.c_str());
        break;
      case 4:
        archive_entry_set_filetype(e, AE_IFCHR);
        archive_entry_set_rdev(e, ::makedev(major, minor));
        break;
      case 5:
        archive_entry_set_filetype(e, AE_IFBLK);
        archive_entry_set_rdev(e, ::makedev(major, minor));
        break;
      case 6:
        archive_entry_set_filetype(e, AE_IFIFO);
        break;
    }
    switch (xattr % 8) {
      case 1:
        archive_entry_xattr_add_entry(e, "user.rdfz", "v", 1);
        break;
      case 2:
        archive_entry_xattr_add_entry(e, "trusted.overlay.opaque", "y", 1);
        break;
      case 3:
        archive_entry_xattr_add_entry(e, "security.capability", content.data(),
                                      std::min<std::size_t>(content.size(), 24));
        break;
      case 4:
        archive_entry_xattr_add_entry(e, "trusted.rdfz", "1", 1);
        break;
      default:
        break;
    }
    int rc = archive_write_header(w.a, e);
    archive_entry_free(e);
    if (rc < ARCHIVE_WARN) return false;
    if ((type % 8 == 0 || type % 8 == 7) && !content.empty() &&
        archive_write_data(w.a, content.data(), content.size()) < 0)
      return false;
  }
  return archive_write_close(w.a) == ARCHIVE_OK;
}

std::vector<std::string> list_dir(const fs::path& dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* ent = ::readdir(d)) {
      std::string_view name = ent->d_name;
      if (name != "." && name != "..") names.emplace_back(name);
    }
    ::closedir(d);
  }
  return names;
}

struct Sandbox {
  fs::path base, w1, w2, dest;
};

// Several levels, each holding exactly one name, so ".." escapes land somewhere checked. All on
// the private tmpfs isolate() mounts on /dev/shm.
const Sandbox& sandbox() {
  static const Sandbox box = [] {
    Sandbox s;
    s.base = "/dev/shm/raind-fuzz-unpack";
    s.w1 = s.base / "w1";
    s.w2 = s.w1 / "w2";
    s.dest = s.w2 / "layer";
    fs::create_directories(s.w2);
    return s;
  }();
  return box;
}

void make_writable(const fs::path& dir) {
  if (dir.empty() || dir == "/" || !fs::is_directory(dir)) return;
  if (::mount(dir.c_str(), dir.c_str(), nullptr, MS_BIND, nullptr) != 0 ||
      ::mount(nullptr, dir.c_str(), nullptr, MS_REMOUNT | MS_BIND, nullptr) != 0)
    std::fprintf(stderr, "layer fuzzer: cannot keep %s writable: %s\n", dir.c_str(),
                 std::strerror(errno));
}

// Everything read-only but a private /dev/shm and where libFuzzer writes: the first corpus
// directory and the artifact prefix's directory (else the working directory).
void isolate(int argc, char** argv) {
  std::vector<fs::path> writable;
  bool artifacts_placed = false, corpus_seen = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    for (std::string_view option : {"-artifact_prefix=", "-exact_artifact_path="}) {
      if (!arg.starts_with(option)) continue;
      fs::path target(arg.substr(option.size()));
      writable.push_back(arg.ends_with('/') ? target : target.parent_path());
      artifacts_placed = true;
    }
    if (!arg.starts_with('-') && !corpus_seen && fs::is_directory(arg)) {
      writable.emplace_back(arg);
      corpus_seen = true;
    }
  }
  if (!artifacts_placed) writable.push_back(fs::current_path());
  mount_attr ro{};
  ro.attr_set = MOUNT_ATTR_RDONLY;
  if (::unshare(CLONE_NEWNS) != 0 ||
      ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
      ::mount("fuzz", "/dev/shm", "tmpfs", 0, "size=256m") != 0 ||
      ::mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof ro) != 0) {
    std::fprintf(stderr, "layer fuzzer: no read-only mount namespace (%s); run it as root\n",
                 std::strerror(errno));
    std::abort();
  }
  make_writable("/dev/shm");
  for (const auto& dir : writable) make_writable(fs::absolute(dir));
}

void check_nothing_outside(const Sandbox& box, bool dest_exists) {
  auto only = [](const fs::path& dir, std::string_view name) {
    auto names = list_dir(dir);
    if (name.empty()) return names.empty();
    return names.size() == 1 && names[0] == name;
  };
  RAIND_FUZZ_CHECK(only(box.base, "w1"));
  RAIND_FUZZ_CHECK(only(box.w1, "w2"));
  RAIND_FUZZ_CHECK(only(box.w2, dest_exists ? "layer" : ""));
  for (const char* dir : {"/", "/dev", "/dev/shm", "/tmp", "/etc"}) {
    for (const auto& name : list_dir(dir)) {
      if (name.find(kMarker) != std::string::npos) {
        std::fprintf(stderr, "escaped entry: %s/%s\n", dir, name.c_str());
        RAIND_FUZZ_CHECK(name.find(kMarker) == std::string::npos);
      }
    }
  }
}

// Device nodes other than whiteouts (char 0/0) only below dev/.
int check_node(const char* path, const struct stat* st, int, FTW*) {
  if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode)) {
    const bool whiteout = S_ISCHR(st->st_mode) && st->st_rdev == ::makedev(0, 0);
    std::string_view rel(path);
    rel.remove_prefix(sandbox().dest.native().size());
    RAIND_FUZZ_CHECK(whiteout || rel.starts_with("/dev/"));
  }
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  isolate(*argc, *argv);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Sandbox& box = sandbox();
  const std::uint8_t mode = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);

  Generated gen;
  const bool raw = (mode & 3) == 3;
  if (raw) {
    gen.compressed.assign(rest);
  } else {
    if (!write_tar(mode, rest, ARCHIVE_FILTER_NONE, gen.plain)) return 0;
    const int filter = (mode & 3) == 1   ? ARCHIVE_FILTER_GZIP
                       : (mode & 3) == 2 ? ARCHIVE_FILTER_ZSTD
                                         : ARCHIVE_FILTER_NONE;
    if (filter == ARCHIVE_FILTER_NONE)
      gen.compressed = gen.plain;
    else if (!write_tar(mode, rest, filter, gen.compressed))
      return 0;
  }

  raind::UniqueFd fd(::memfd_create("layer", MFD_CLOEXEC));
  RAIND_FUZZ_CHECK(static_cast<bool>(fd));
  RAIND_FUZZ_CHECK(::write(fd.get(), gen.compressed.data(), gen.compressed.size()) ==
                   static_cast<ssize_t>(gen.compressed.size()));
  RAIND_FUZZ_CHECK(::lseek(fd.get(), 0, SEEK_SET) == 0);

  auto stats = images::unpack_layer_fd(fd.get(), box.dest);
  if (!stats) {
    // Only an attempt to write outside the tmpfs can meet a read-only or foreign file system.
    const int err = stats.error().sys_errno();
    if (err == EROFS || err == EXDEV) std::fprintf(stderr, "%s\n", stats.error().what().c_str());
    RAIND_FUZZ_CHECK(err != EROFS && err != EXDEV);
  }
  check_nothing_outside(box, stats.has_value());
  if (stats) {
    if (!raw) RAIND_FUZZ_CHECK(stats->diff_id == "sha256:" + raind::sha256_hex(gen.plain));
    RAIND_FUZZ_CHECK(::nftw(box.dest.c_str(), check_node, 16, FTW_PHYS) == 0);
    fs::remove_all(box.dest);
  }
  return 0;
}

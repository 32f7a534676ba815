#include "condenser/images/layer_unpack.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <span>
#include <vector>

#include "condenser/images/layer_reader.hpp"
#include "condenser/images/safe_path.hpp"
#include "raind/scope_exit.hpp"
#include "raind/sys/files.hpp"

namespace raind::condenser::images {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kOpaqueMarker = ".wh..wh..opq";
constexpr std::string_view kOverlayXattrPrefix = "trusted.overlay.";
constexpr const char* kOpaqueXattr = "trusted.overlay.opaque";

struct DirTimes {
  std::vector<std::string> components;
  timespec times[2];
};

void entry_times(archive_entry* e, timespec out[2]) {
  out[1] = {static_cast<time_t>(archive_entry_mtime(e)), archive_entry_mtime_nsec(e)};
  out[0] = archive_entry_atime_is_set(e)
               ? timespec{static_cast<time_t>(archive_entry_atime(e)), archive_entry_atime_nsec(e)}
               : out[1];
}

uid_t entry_uid(archive_entry* e) {
  return static_cast<uid_t>(archive_entry_uid(e));
}
gid_t entry_gid(archive_entry* e) {
  return static_cast<gid_t>(archive_entry_gid(e));
}
mode_t entry_perm(archive_entry* e) {
  return archive_entry_perm(e) & 07777;
}

// Ownership before mode (chown clears setuid/setgid), then xattrs (chown also clears
// security.capability), times last.
Status set_owner_mode(int fd, archive_entry* e) {
  if (::fchown(fd, entry_uid(e), entry_gid(e)) != 0) return fail_errno("chown");
  if (::fchmod(fd, entry_perm(e)) != 0) return fail_errno("chmod");
  return ok();
}

Status set_xattrs(int fd, archive_entry* e) {
  archive_entry_xattr_reset(e);
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
    // Overlay metadata (opaque, redirect, metacopy) can point overlayfs at other paths: a layer
    // may only express it through OCI whiteouts, never directly.
    if (std::string_view(name).starts_with(kOverlayXattrPrefix)) continue;
    if (::fsetxattr(fd, name, value, size, 0) != 0)
      return fail_errno(fmt::format("set xattr {}", name));
  }
  return ok();
}

// Clears name for a new entry. Returns true if an existing directory was kept (dir over dir).
Result<bool> prepare_slot(int parent, const std::string& name, bool want_dir) {
  struct stat st {};
  if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return false;
    return fail_errno(fmt::format("stat '{}'", name));
  }
  if (want_dir && S_ISDIR(st.st_mode)) return true;
  RAIND_TRY(remove_at(parent, name));
  return false;
}

Status write_data(LayerReader& reader, int fd) {
  for (;;) {
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    int rc = archive_read_data_block(reader.tar(), &block, &size, &offset);
    if (rc == ARCHIVE_EOF) return ok();
    if (rc < ARCHIVE_WARN) return std::unexpected(reader.error("read file data"));
    const char* p = static_cast<const char*>(block);
    while (size > 0) {
      ssize_t n = ::pwrite(fd, p, size, offset);
      if (n < 0) {
        if (errno == EINTR) continue;
        return fail_errno("write file data");
      }
      p += n;
      size -= static_cast<size_t>(n);
      offset += n;
    }
  }
}

class Unpacker {
 public:
  Unpacker(int root_fd, LayerReader& reader) : root_(root_fd), reader_(reader) {}

  Status apply(archive_entry* e, UnpackStats& stats) {
    const char* raw = archive_entry_pathname(e);
    if (raw == nullptr || *raw == '\0') return fail(Errc::invalid_argument, "entry without a path");
    RAIND_TRY_ASSIGN(auto parent, split_entry_path(raw));
    const char* hardlink = archive_entry_hardlink(e);
    mode_t type = archive_entry_filetype(e);
    if (parent.empty()) return apply_root(e, hardlink, type);
    std::string name = std::move(parent.back());
    parent.pop_back();

    if (name.starts_with(kWhiteoutPrefix)) {
      ++stats.whiteouts;
      return apply_whiteout(parent, name, e);
    }
    RAIND_TRY_ASSIGN(UniqueFd dir, open_dir_beneath(root_, parent, true));
    if (hardlink != nullptr) return apply_hardlink(dir.get(), name, hardlink);
    switch (type) {
      case AE_IFREG:
        return apply_file(dir.get(), name, e);
      case AE_IFDIR:
        parent.push_back(name);
        return apply_dir(dir.get(), name, std::move(parent), e);
      case AE_IFLNK:
        return apply_symlink(dir.get(), name, e);
      case AE_IFCHR:
      case AE_IFBLK:
        // Device nodes give access to host hardware; images only legitimately ship them in /dev
        // (which runtimes mount over anyway).
        if (parent.empty() || parent.front() != "dev")
          return fail(Errc::invalid_argument, "device node outside /dev is not allowed");
        return apply_node(dir.get(), name, e, type == AE_IFCHR ? S_IFCHR : S_IFBLK);
      case AE_IFIFO:
        return apply_node(dir.get(), name, e, S_IFIFO);
      default:
        return failf(Errc::invalid_argument, "unsupported entry type {:#o}", type);
    }
  }

  // Directory mtimes change while their children are written, so they are set at the end.
  Status finish_dir_times() {
    for (auto it = dir_times_.rbegin(); it != dir_times_.rend(); ++it) {
      RAIND_TRY_ASSIGN(UniqueFd dir, open_dir_beneath(root_, it->components, false));
      if (::futimens(dir.get(), it->times) != 0) return fail_errno("set directory times");
    }
    return ok();
  }

 private:
  Status apply_root(archive_entry* e, const char* hardlink, mode_t type) {
    if (hardlink != nullptr || type != AE_IFDIR)
      return fail(Errc::invalid_argument, "the layer root entry must be a directory");
    RAIND_TRY(set_owner_mode(root_, e));
    defer_times({}, e);
    return ok();
  }

  Status apply_whiteout(const std::vector<std::string>& parent, const std::string& name,
                        archive_entry* e) {
    RAIND_TRY_ASSIGN(UniqueFd dir, open_dir_beneath(root_, parent, true));
    if (name == kOpaqueMarker) {
      if (::fsetxattr(dir.get(), kOpaqueXattr, "y", 1, 0) != 0)
        return fail_errno("set trusted.overlay.opaque");
      return ok();
    }
    // Other ".wh..wh." names are aufs bookkeeping (e.g. .wh..wh.plnk) with no overlay meaning.
    if (name.starts_with(kWhiteoutMetaPrefix)) return ok();
    std::string target = name.substr(kWhiteoutPrefix.size());
    if (target.empty() || target == "." || target == "..")
      return failf(Errc::invalid_argument, "invalid whiteout name '{}'", name);
    RAIND_TRY(remove_at(dir.get(), target));
    if (::mknodat(dir.get(), target.c_str(), S_IFCHR, ::makedev(0, 0)) != 0)
      return fail_errno(fmt::format("create whiteout '{}'", target));
    if (::fchownat(dir.get(), target.c_str(), entry_uid(e), entry_gid(e), AT_SYMLINK_NOFOLLOW) != 0)
      return fail_errno("chown whiteout");
    return ok();
  }

  Status apply_hardlink(int dir, const std::string& name, const char* target_path) {
    auto target = split_entry_path(target_path);
    if (!target) return std::unexpected(std::move(target.error()).context("hardlink target"));
    if (target->empty())
      return fail(Errc::invalid_argument, "hardlink to the layer root is not allowed");
    std::string target_name = std::move(target->back());
    target->pop_back();
    auto target_dir = open_dir_beneath(root_, *target, false);
    if (!target_dir)
      return std::unexpected(
          std::move(target_dir.error()).context(fmt::format("hardlink target '{}'", target_path)));
    struct stat target_st {};
    if (::fstatat(target_dir->get(), target_name.c_str(), &target_st, AT_SYMLINK_NOFOLLOW) != 0)
      return failf(Errc::invalid_argument, "hardlink target '{}' is not in the layer", target_path);
    if (S_ISDIR(target_st.st_mode))
      return failf(Errc::invalid_argument, "hardlink target '{}' is a directory", target_path);
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        st.st_ino == target_st.st_ino && st.st_dev == target_st.st_dev)
      return ok();
    RAIND_TRY(prepare_slot(dir, name, false));
    // flags 0: a hardlink to a symlink links the symlink itself, never what it points to.
    if (::linkat(target_dir->get(), target_name.c_str(), dir, name.c_str(), 0) != 0)
      return fail_errno(fmt::format("hardlink to '{}'", target_path));
    return ok();
  }

  Status apply_file(int dir, const std::string& name, archive_entry* e) {
    RAIND_TRY(prepare_slot(dir, name, false));
    UniqueFd fd(
        ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return fail_errno("create file");
    RAIND_TRY(write_data(reader_, fd.get()));
    // Sparse files end with a hole that has no data block.
    if (archive_entry_size_is_set(e) && ::ftruncate(fd.get(), archive_entry_size(e)) != 0)
      return fail_errno("set file size");
    RAIND_TRY(set_owner_mode(fd.get(), e));
    RAIND_TRY(set_xattrs(fd.get(), e));
    timespec times[2];
    entry_times(e, times);
    if (::futimens(fd.get(), times) != 0) return fail_errno("set file times");
    return ok();
  }

  Status apply_dir(int parent, const std::string& name, std::vector<std::string> components,
                   archive_entry* e) {
    RAIND_TRY_ASSIGN(bool exists, prepare_slot(parent, name, true));
    if (!exists && ::mkdirat(parent, name.c_str(), 0700) != 0)
      return fail_errno("create directory");
    RAIND_TRY_ASSIGN(UniqueFd dir, open_dir_beneath(parent, std::span(&name, 1), false));
    RAIND_TRY(set_owner_mode(dir.get(), e));
    RAIND_TRY(set_xattrs(dir.get(), e));
    defer_times(std::move(components), e);
    return ok();
  }

  // Symlink targets are stored verbatim: they are never followed while unpacking, and inside the
  // container they resolve against the container's root.
  Status apply_symlink(int dir, const std::string& name, archive_entry* e) {
    const char* target = archive_entry_symlink(e);
    if (target == nullptr || *target == '\0')
      return fail(Errc::invalid_argument, "symlink without a target");
    RAIND_TRY(prepare_slot(dir, name, false));
    if (::symlinkat(target, dir, name.c_str()) != 0) return fail_errno("create symlink");
    if (::fchownat(dir, name.c_str(), entry_uid(e), entry_gid(e), AT_SYMLINK_NOFOLLOW) != 0)
      return fail_errno("chown symlink");
    timespec times[2];
    entry_times(e, times);
    if (::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return fail_errno("set symlink times");
    return ok();
  }

  Status apply_node(int dir, const std::string& name, archive_entry* e, mode_t kind) {
    RAIND_TRY(prepare_slot(dir, name, false));
    dev_t rdev = kind == S_IFIFO ? 0 : archive_entry_rdev(e);
    if (::mknodat(dir, name.c_str(), kind | 0600, rdev) != 0) return fail_errno("create node");
    if (::fchownat(dir, name.c_str(), entry_uid(e), entry_gid(e), AT_SYMLINK_NOFOLLOW) != 0)
      return fail_errno("chown node");
    // We just made this node, so it is not a symlink: following is harmless here.
    if (::fchmodat(dir, name.c_str(), entry_perm(e), 0) != 0) return fail_errno("chmod node");
    timespec times[2];
    entry_times(e, times);
    if (::utimensat(dir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return fail_errno("set node times");
    return ok();
  }

  void defer_times(std::vector<std::string> components, archive_entry* e) {
    DirTimes t{std::move(components), {}};
    entry_times(e, t.times);
    dir_times_.push_back(std::move(t));
  }

  int root_;
  LayerReader& reader_;
  std::vector<DirTimes> dir_times_;
};

// Entry names in errors, cut short: a hostile name can be a megabyte long.
std::string printable_name(const char* name) {
  std::string_view view = name != nullptr ? name : "";
  if (view.size() <= 256) return std::string(view);
  return fmt::format("{}…({} bytes)", view.substr(0, 256), view.size());
}

}  // namespace

Result<UnpackStats> unpack_layer_fd(int fd, const std::filesystem::path& dest) {
  struct stat st {};
  if (::lstat(dest.c_str(), &st) == 0)
    return failf(Errc::already_exists, "unpack layer: {} already exists", dest.string());
  if (::mkdir(dest.c_str(), 0755) != 0)
    return fail_errno(fmt::format("unpack layer: create {}", dest.string()));
  ScopeExit remove_partial([&] { (void)sys::remove_all_xdev(dest); });
  UniqueFd root(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) return fail_errno(fmt::format("unpack layer: open {}", dest.string()));
  if (::fchmod(root.get(), 0755) != 0) return fail_errno("unpack layer: chmod root");

  auto context = [&](Error&& error) {
    return std::unexpected(
        std::move(error).context(fmt::format("unpack layer into {}", dest.string())));
  };
  auto reader = LayerReader::open(fd);
  if (!reader) return context(std::move(reader.error()));
  Unpacker unpacker(root.get(), **reader);
  UnpackStats stats;
  for (;;) {
    auto entry = (*reader)->next();
    if (!entry) return context(std::move(entry.error()));
    if (*entry == nullptr) break;
    ++stats.entries;
    const char* name = archive_entry_pathname(*entry);
    if (auto applied = unpacker.apply(*entry, stats); !applied)
      return context(std::move(applied.error())
                         .context(fmt::format("layer entry '{}'", printable_name(name))));
  }
  if (auto timed = unpacker.finish_dir_times(); !timed) return context(std::move(timed.error()));
  auto diff_id = (*reader)->finish_diff_id();
  if (!diff_id) return context(std::move(diff_id.error()));
  stats.diff_id = std::move(*diff_id);
  stats.uncompressed_bytes = (*reader)->uncompressed_bytes();
  // A layer directory is trusted once renamed into the store: make its content durable first.
  if (::syncfs(root.get()) != 0) return context(Error::from_errno(errno, "syncfs"));
  remove_partial.dismiss();
  return stats;
}

Result<UnpackStats> unpack_layer(const std::filesystem::path& tar_path,
                                 const std::filesystem::path& dest) {
  RAIND_TRY_ASSIGN(UniqueFd fd, sys::open(tar_path, O_RDONLY | O_CLOEXEC));
  return unpack_layer_fd(fd.get(), dest);
}

}  // namespace raind::condenser::images

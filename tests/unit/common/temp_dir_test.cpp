#include "raind/sys/temp_dir.hpp"

#include <sched.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include <gtest/gtest.h>

#include "raind/sys/files.hpp"

namespace raind::sys {
namespace {

namespace fs = std::filesystem;

TEST(TempDir, CreatesPrivateDirectoryAndRemovesItWithContents) {
  fs::path kept;
  {
    auto dir = TempDir::create("raind-td");
    ASSERT_TRUE(dir) << dir.error().what();
    kept = dir->path();
    struct stat st {};
    ASSERT_EQ(::stat(kept.c_str(), &st), 0);
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_TRUE(kept.filename().string().starts_with("raind-td-")) << kept;
    ASSERT_TRUE(mkdir_p(*dir / "a/b/c"));
    ASSERT_TRUE(write_file(*dir / "a/b/c/f", "x"));
    // An unreadable directory inside must not defeat cleanup.
    ASSERT_TRUE(mkdir_p(*dir / "locked/inner"));
    ASSERT_EQ(::chmod((*dir / "locked").c_str(), 0), 0);
  }
  EXPECT_FALSE(sys::exists(kept));
}

TEST(TempDir, MoveTransfersOwnershipAndReleaseKeeps) {
  auto first = TempDir::create("raind-td");
  ASSERT_TRUE(first);
  fs::path p = first->path();
  TempDir moved(std::move(*first));
  EXPECT_TRUE(first->path().empty());
  EXPECT_EQ(moved.path(), p);
  fs::path released = moved.release();
  EXPECT_EQ(released, p);
  EXPECT_TRUE(moved.path().empty());
  EXPECT_TRUE(sys::exists(p)) << "a released directory stays";
  ASSERT_TRUE(sys::remove_all(p));
}

TEST(TempDir, HonoursRaindTestRoot) {
  auto outer = TempDir::create("raind-root");
  ASSERT_TRUE(outer);
  const char* saved = std::getenv("RAIND_TEST_ROOT");
  std::string saved_value = saved ? saved : "";
  ::setenv("RAIND_TEST_ROOT", outer->path().c_str(), 1);
  auto inner = TempDir::create("x");
  if (saved)
    ::setenv("RAIND_TEST_ROOT", saved_value.c_str(), 1);
  else
    ::unsetenv("RAIND_TEST_ROOT");
  ASSERT_TRUE(inner);
  EXPECT_EQ(inner->path().parent_path(), outer->path());
}

TEST(RemoveAllXdev, DoesNotFollowSymlinks) {
  auto dir = TempDir::create("raind-rx");
  ASSERT_TRUE(dir);
  ASSERT_TRUE(mkdir_p(*dir / "outside"));
  ASSERT_TRUE(write_file(*dir / "outside/precious", "keep"));
  ASSERT_TRUE(mkdir_p(*dir / "tree/sub"));
  fs::create_symlink(*dir / "outside", *dir / "tree/sub/link");
  ASSERT_TRUE(remove_all_xdev(*dir / "tree"));
  EXPECT_FALSE(sys::exists(*dir / "tree"));
  EXPECT_EQ(*read_file(*dir / "outside/precious"), "keep");
  EXPECT_TRUE(remove_all_xdev(*dir / "tree")) << "missing is not an error";
}

// A bind mount inside the tree is left alone: the mounted directory's files survive and the
// call reports the mount point. Runs in a forked child in its own mount namespace (a user
// namespace when not root), so nothing is mounted on the host.
TEST(RemoveAllXdev, StopsAtMountPoints) {
  auto dir = TempDir::create("raind-rx");
  ASSERT_TRUE(dir);
  ASSERT_TRUE(mkdir_p(*dir / "source"));
  ASSERT_TRUE(write_file(*dir / "source/precious", "keep"));
  ASSERT_TRUE(mkdir_p(*dir / "tree/mnt"));
  ASSERT_TRUE(write_file(*dir / "tree/other", "x"));
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int flags = CLONE_NEWNS | (geteuid() == 0 ? 0 : CLONE_NEWUSER);
    if (unshare(flags) != 0) _exit(77);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) _exit(77);
    if (mount((*dir / "source").c_str(), (*dir / "tree/mnt").c_str(), nullptr, MS_BIND, nullptr) !=
        0)
      _exit(77);
    auto r = remove_all_xdev(*dir / "tree");
    if (r) _exit(1);  // must report the mount point
    if (r.error().code() != Errc::conflict) _exit(2);
    if (r.error().what().find("tree/mnt") == std::string::npos) _exit(3);
    if (sys::exists(*dir / "tree/other")) _exit(4);  // the rest is still removed
    if (!sys::exists(*dir / "tree/mnt/precious")) _exit(5);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "cannot create a mount namespace here";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "child check failed";
  EXPECT_EQ(*read_file(*dir / "source/precious"), "keep");
}

TEST(ReadLink, ReturnsTargetAndNamesThePathOnError) {
  auto dir = TempDir::create("raind-rl");
  ASSERT_TRUE(dir);
  std::string long_target(400, 'x');  // longer than the first buffer guess
  fs::create_symlink(long_target, *dir / "long");
  fs::create_symlink("../relative/target", *dir / "rel");
  EXPECT_EQ(*read_link(*dir / "long"), fs::path(long_target));
  EXPECT_EQ(*read_link(*dir / "rel"), fs::path("../relative/target"));
  auto missing = read_link(*dir / "missing");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), Errc::not_found);
  EXPECT_NE(missing.error().what().find((*dir / "missing").string()), std::string::npos);
  ASSERT_TRUE(write_file(*dir / "plain", "x"));
  auto not_link = read_link(*dir / "plain");
  ASSERT_FALSE(not_link);
  EXPECT_EQ(not_link.error().sys_errno(), EINVAL);
}

}  // namespace
}  // namespace raind::sys

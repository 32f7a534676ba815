#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <random>

#include <gtest/gtest.h>

#include "raind/atomic_file.hpp"
#include "raind/sys/files.hpp"

namespace raind {
namespace {

class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/raind-common-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(TempDirTest, AtomicWriteContentAndMode) {
  auto path = dir_ / "state.json";
  ASSERT_TRUE(write_file_atomic(path, "{\"a\":1}", 0600));
  EXPECT_EQ(*sys::read_file(path), "{\"a\":1}");
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(write_file_atomic(path, "second", 0644));
  EXPECT_EQ(*sys::read_file(path), "second");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_), {}), 1)
      << "no temp files left";
}

TEST_F(TempDirTest, AtomicWriteFailsCleanlyInAMissingDirectory) {
  auto r = write_file_atomic(dir_ / "missing" / "x", "y");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().what().find(dir_.string() + "/missing"), std::string::npos)
      << r.error().what();
}

// A writer child rewrites the file with large alternating contents and is SIGKILLed at random
// moments. Asserted after every kill:
//  - the file holds exactly version A or version B: never a mix, a truncation or nothing;
//  - besides the file there is at most ONE leftover temp file (".data.tmp-<ulid>", the write the
//    kill interrupted); it is removed before the next round so leftovers cannot accumulate
//    unnoticed.
// Across all rounds at least one kill must have landed mid-write (a leftover was seen), else the
// test would not have exercised the interesting window.
TEST_F(TempDirTest, AtomicWriteSurvivesWriterKilledMidWrite) {
  auto path = dir_ / "data";
  const std::string a(512 * 1024, 'A');
  const std::string b(768 * 1024, 'B');
  ASSERT_TRUE(write_file_atomic(path, a));
  std::mt19937 rng(12345);
  int interrupted = 0;
  for (int round = 0; round < 40; ++round) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      for (int i = 0;; ++i) (void)write_file_atomic(path, i % 2 ? a : b);
    }
    usleep(1000 + rng() % 20000);
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    auto content = sys::read_file(path);
    ASSERT_TRUE(content) << content.error().what();
    ASSERT_TRUE(*content == a || *content == b)
        << "round " << round << ": torn file of " << content->size() << " bytes";
    int leftovers = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      std::string name = entry.path().filename();
      if (name == "data") continue;
      ASSERT_TRUE(name.starts_with(".data.tmp-")) << "unexpected file " << name;
      ++leftovers;
      std::filesystem::remove(entry.path());
    }
    ASSERT_LE(leftovers, 1) << "round " << round;
    interrupted += leftovers;
  }
  EXPECT_GT(interrupted, 0) << "no kill landed inside a write";
}

TEST_F(TempDirTest, ReadFileNamesThePath) {
  auto r = sys::read_file(dir_ / "nope");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::not_found);
  EXPECT_NE(r.error().what().find((dir_ / "nope").string()), std::string::npos);
}

TEST_F(TempDirTest, MkdirPAndRemoveAll) {
  ASSERT_TRUE(sys::mkdir_p(dir_ / "a/b/c", 0700));
  EXPECT_TRUE(sys::exists(dir_ / "a/b/c"));
  ASSERT_TRUE(sys::write_file(dir_ / "a/b/file", "x"));
  auto not_dir = sys::mkdir_p(dir_ / "a/b/file/d");
  EXPECT_FALSE(not_dir);
  ASSERT_TRUE(sys::remove_all(dir_ / "a"));
  EXPECT_FALSE(sys::exists(dir_ / "a"));
  EXPECT_TRUE(sys::remove_all(dir_ / "a")) << "missing is not an error";
}

TEST_F(TempDirTest, WriteExistingDoesNotCreate) {
  auto r = sys::write_existing(dir_ / "control", "1");
  ASSERT_FALSE(r);
  EXPECT_FALSE(sys::exists(dir_ / "control"));
}

}  // namespace
}  // namespace raind

#include "raind/error.hpp"

#include <fcntl.h>

#include <gtest/gtest.h>

#include "raind/scope_exit.hpp"
#include "raind/unique_fd.hpp"

namespace raind {
namespace {

Result<int> parse_positive(int v) {
  if (v <= 0) return failf(Errc::invalid_argument, "value {} is not positive", v);
  return v;
}

Result<int> doubled(int v) {
  RAIND_TRY_ASSIGN(int x, parse_positive(v));
  return 2 * x;
}

Status check_twice(int v) {
  RAIND_TRY(parse_positive(v));
  RAIND_TRY(parse_positive(v - 1));
  return ok();
}

TEST(Error, ContextFramesReadOutermostFirst) {
  Error e(Errc::not_found, "no such file");
  e.context("read config").context("start container abc");
  EXPECT_EQ(e.what(), "start container abc: read config: no such file");
  EXPECT_EQ(e.code(), Errc::not_found);
}

TEST(Error, FromErrnoMapsCodesAndAppendsStrerror) {
  EXPECT_EQ(Error::from_errno(ENOENT, "open x").code(), Errc::not_found);
  EXPECT_EQ(Error::from_errno(EEXIST, "mkdir x").code(), Errc::already_exists);
  EXPECT_EQ(Error::from_errno(EACCES, "open x").code(), Errc::permission_denied);
  EXPECT_EQ(Error::from_errno(EIO, "read x").code(), Errc::system);
  Error e = Error::from_errno(ENOENT, "open /etc/raind/x");
  EXPECT_EQ(e.what(), "open /etc/raind/x: No such file or directory");
  EXPECT_EQ(e.sys_errno(), ENOENT);
  EXPECT_EQ(errc_name(Errc::permission_denied), "permission_denied");
}

TEST(Error, TryMacrosPropagate) {
  EXPECT_EQ(*doubled(4), 8);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().what(), "value -1 is not positive");
  EXPECT_TRUE(check_twice(5));
  auto second = check_twice(1);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().what(), "value 0 is not positive");
  auto framed = with_context(doubled(0), "parse --count");
  EXPECT_EQ(framed.error().what(), "parse --count: value 0 is not positive");
}

TEST(UniqueFd, ClosesOnceAndMoves) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  {
    UniqueFd a(fds[0]);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), fds[0]);
    errno = 1234;
    b.reset();
    EXPECT_EQ(errno, 1234) << "reset must preserve errno";
  }
  EXPECT_EQ(fcntl(fds[0], F_GETFD), -1);  // closed
  UniqueFd w(fds[1]);
  int raw = w.release();
  EXPECT_EQ(raw, fds[1]);
  EXPECT_NE(fcntl(raw, F_GETFD), -1);  // released: still open
  close(raw);
}

TEST(ScopeExit, RunsUnlessDismissed) {
  int runs = 0;
  {
    ScopeExit s([&] { ++runs; });
  }
  {
    ScopeExit s([&] { ++runs; });
    s.dismiss();
  }
  EXPECT_EQ(runs, 1);
}

TEST(RollbackStack, UndoesNewestFirstUnlessCommitted) {
  std::vector<std::string> order;
  {
    RollbackStack rb;
    rb.push("a", [&] { order.push_back("a"); });
    rb.push("b", [&] { order.push_back("b"); });
    rb.push("c", [&] { throw std::runtime_error("undo failed"); });
  }
  EXPECT_EQ(order, (std::vector<std::string>{"b", "a"}))
      << "a throwing step must not stop the rest";
  order.clear();
  {
    RollbackStack rb;
    rb.push("a", [&] { order.push_back("a"); });
    rb.commit();
  }
  EXPECT_TRUE(order.empty());
}

}  // namespace
}  // namespace raind

#include "raind/sys/process.hpp"

#include <signal.h>

#include <gtest/gtest.h>

#include "raind/log.hpp"

namespace raind::sys {
namespace {

TEST(Run, CapturesOutputAndExitCode) {
  auto r = run({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->status.code, 3);
  EXPECT_TRUE(r->status.exited());
}

TEST(Run, ReportsSignalsAndStdin) {
  auto killed = run({"sh", "-c", "kill -TERM $$"});
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->status.signal, SIGTERM);
  EXPECT_EQ(killed->status.shell_code(), 143);
  RunOptions opts;
  opts.stdin_data = "hello stdin";
  auto cat = run({"cat"}, opts);
  ASSERT_TRUE(cat);
  EXPECT_EQ(cat->out, "hello stdin");
}

TEST(Run, LargeOutputOnBothStreamsDoesNotDeadlock) {
  auto r = run({"sh", "-c", "head -c 1000000 /dev/zero; head -c 1000000 /dev/zero >&2"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->out.size(), 1000000u);
  EXPECT_EQ(r->err.size(), 1000000u);
}

TEST(Run, TimeoutKills) {
  RunOptions opts;
  opts.timeout = std::chrono::milliseconds(200);
  auto r = run({"sleep", "10"}, opts);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::timeout);
}

TEST(Run, MissingProgramExits127) {
  auto r = run({"/nonexistent/raind-program"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status.code, 127);
  EXPECT_NE(r->err.find("/nonexistent/raind-program"), std::string::npos);
}

TEST(ChildProcess, KillsAndReapsOnDestruction) {
  pid_t pid = fork();
  if (pid == 0) {
    pause();
    _exit(0);
  }
  { ChildProcess child(pid); }
  EXPECT_EQ(kill(pid, 0), -1) << "the child must be gone (reaped)";
}

TEST(Logging, NamedLoggersAreSharedAndReused) {
  auto a = logger("droplet.cgroups");
  auto b = logger("droplet.cgroups");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(a->name(), "droplet.cgroups");
  EXPECT_NE(logger("condenser.policy").get(), a.get());
}

}  // namespace
}  // namespace raind::sys

namespace raind::sys {
namespace {

TEST(Run, StdinForAChildThatDoesNotReadIsNotFatal) {
  // `true` exits without reading: writing the rest raises EPIPE, which must not kill the caller
  // with SIGPIPE (the default disposition in this test binary).
  RunOptions opts;
  opts.stdin_data = std::string(4 << 20, 'x');
  for (int i = 0; i < 5; ++i) {
    auto r = run({"true"}, opts);
    ASSERT_TRUE(r) << r.error().what();
    EXPECT_EQ(r->status.code, 0);
  }
}

TEST(Run, TimeoutAppliesAfterTheChildClosesItsOutput) {
  RunOptions opts;
  opts.timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto r = run({"sh", "-c", "exec >&- 2>&-; sleep 10"}, opts);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::timeout);
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST(Run, ReplacesTheEnvironmentWhenGiven) {
  RunOptions opts;
  opts.env = {"RAIND_TEST_VAR=hello", "PATH=/usr/bin:/bin"};
  auto r = run({"sh", "-c", "echo \"$RAIND_TEST_VAR:${HOME:-unset}\""}, opts);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->out, "hello:unset\n");
  EXPECT_FALSE(run({}));
}

}  // namespace
}  // namespace raind::sys

// run_async: a child awaited through a pidfd without blocking the loop.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "condenser/system/async_process.hpp"

using raind::condenser::system::AsyncRunOptions;
using raind::condenser::system::run_async;
namespace asio = boost::asio;

namespace {

template <class T>
T run_on_loop(asio::awaitable<T> work, asio::io_context& io) {
  std::optional<T> out;
  asio::co_spawn(io, std::move(work), [&](std::exception_ptr e, T value) {
    if (e) std::rethrow_exception(e);
    out = std::move(value);
  });
  io.run();
  return std::move(*out);
}

}  // namespace

TEST(AsyncProcess, CapturesOutputStdinAndExitCode) {
  asio::io_context io;
  AsyncRunOptions options;
  options.stdin_data = "from stdin\n";
  auto r = run_on_loop(run_async({"/bin/sh", "-c", "cat; echo err >&2; exit 5"}, options), io);
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->status.code, 5);
  EXPECT_EQ(r->out, "from stdin\n");
  EXPECT_EQ(r->err, "err\n");
}

TEST(AsyncProcess, ReportsSignalsAndTimeouts) {
  asio::io_context io;
  auto killed = run_on_loop(run_async({"/bin/sh", "-c", "kill -TERM $$"}), io);
  ASSERT_TRUE(killed);
  EXPECT_EQ(killed->status.signal, SIGTERM);
  EXPECT_EQ(killed->status.shell_code(), 143);

  asio::io_context io2;
  AsyncRunOptions options;
  options.timeout = std::chrono::milliseconds(100);
  auto slow = run_on_loop(run_async({"/bin/sleep", "10"}, options), io2);
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().code(), raind::Errc::timeout);
}

TEST(AsyncProcess, DoesNotBlockTheLoop) {
  asio::io_context io;
  int ticks = 0;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        asio::steady_timer timer(io);
        for (int i = 0; i < 5; ++i) {
          timer.expires_after(std::chrono::milliseconds(20));
          co_await timer.async_wait(asio::use_awaitable);
          ++ticks;
        }
      },
      asio::detached);
  auto r = run_on_loop(run_async({"/bin/sleep", "0.3"}), io);
  ASSERT_TRUE(r);
  EXPECT_EQ(ticks, 5) << "the timer kept running while the child ran";
}

TEST(AsyncProcess, RejectsRelativePaths) {
  asio::io_context io;
  auto r = run_on_loop(run_async({"sh", "-c", "true"}), io);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), raind::Errc::invalid_argument);
}

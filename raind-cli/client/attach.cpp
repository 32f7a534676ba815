#include "raind-cli/client/attach.hpp"

#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <deque>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "raind-cli/client/detach_keys.hpp"
#include "raind/attach_frame.hpp"

namespace raind::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

// The local terminal in raw mode for the session's lifetime.
class RawTerminal {
 public:
  RawTerminal() {
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    ::cfmakeraw(&raw);
    if (::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0) active_ = true;
  }
  ~RawTerminal() {
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

std::optional<std::string> window_size_frame() {
  winsize ws{};
  if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_row == 0) return std::nullopt;
  return attach::encode_resize(ws.ws_row, ws.ws_col);
}

using WsStream = websocket::stream<beast::ssl_stream<beast::tcp_stream>&>;

// One writer: frames from stdin and SIGWINCH are queued and sent in order.
class Outbox {
 public:
  Outbox(asio::io_context& io, WsStream& ws) : ws_(ws), wake_(io) {
    wake_.expires_at(asio::steady_timer::time_point::max());
  }
  void push(std::string frame) {
    queue_.push_back(std::move(frame));
    wake_.cancel();
  }
  void finish(std::uint16_t code, std::string reason) {
    close_code_ = code;
    close_reason_ = std::move(reason);
    closing_ = true;
    wake_.cancel();
  }
  awaitable<void> run() {
    boost::system::error_code ec;
    while (true) {
      while (!queue_.empty()) {
        std::string frame = std::move(queue_.front());
        queue_.pop_front();
        co_await ws_.async_write(asio::buffer(frame), redirect_error(use_awaitable, ec));
        if (ec) co_return;
      }
      if (closing_) {
        co_await ws_.async_close(
            websocket::close_reason(static_cast<websocket::close_code>(close_code_), close_reason_),
            redirect_error(use_awaitable, ec));
        co_return;
      }
      wake_.expires_at(asio::steady_timer::time_point::max());
      co_await wake_.async_wait(redirect_error(use_awaitable, ec));
    }
  }

 private:
  WsStream& ws_;
  asio::steady_timer wake_;
  std::deque<std::string> queue_;
  bool closing_ = false;
  std::uint16_t close_code_ = 1000;
  std::string close_reason_;
};

}  // namespace

Result<AttachEnd> attach_terminal(Client& client, const std::string& target,
                                  std::function<Status()> on_attached) {
  RAIND_TRY_ASSIGN(auto conn, client.connect());
  auto& io = conn->io;
  beast::get_lowest_layer(*conn->stream).expires_never();
  WsStream ws(*conn->stream);
  ws.binary(true);
  websocket::response_type response;
  boost::system::error_code ec;
  ws.handshake(response, client.endpoint().display(), target, ec);
  if (ec) {
    auto body = nlohmann::json::parse(response.body(), nullptr, false);
    if (body.is_object() && body.contains("message"))
      return failf(Errc::conflict, "{}", body.value("message", ""));
    return failf(Errc::unavailable, "attach: {}", ec.message());
  }

  std::thread starter;
  Status started = ok();
  if (on_attached) starter = std::thread([&] { started = on_attached(); });

  RawTerminal raw;
  AttachEnd end = AttachEnd::closed;
  Outbox outbox(io, ws);
  if (auto frame = window_size_frame()) outbox.push(*frame);

  asio::posix::stream_descriptor input(io, ::dup(STDIN_FILENO));
  asio::signal_set winch(io, SIGWINCH);
  bool finished = false;

  // Terminal output → stdout; the session ends when the server closes.
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        beast::flat_buffer buffer;
        boost::system::error_code read_ec;
        while (true) {
          co_await ws.async_read(buffer, redirect_error(use_awaitable, read_ec));
          if (read_ec) break;
          auto data = buffer.data();
          const char* p = static_cast<const char*>(data.data());
          std::size_t left = data.size();
          while (left > 0) {
            ssize_t n = ::write(STDOUT_FILENO, p, left);
            if (n <= 0) break;
            p += n;
            left -= static_cast<std::size_t>(n);
          }
          buffer.consume(buffer.size());
        }
        finished = true;
        input.cancel(read_ec);
        winch.cancel(read_ec);
        outbox.finish(1000, "stream closed");
      },
      asio::detached);

  // Keyboard → data frames; Ctrl-P Ctrl-Q detaches.
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        DetachKeys keys;
        std::array<char, 4096> buffer{};
        boost::system::error_code read_ec;
        while (!finished) {
          std::size_t n = co_await input.async_read_some(asio::buffer(buffer),
                                                         redirect_error(use_awaitable, read_ec));
          if (read_ec || n == 0) break;
          auto typed = keys.feed(std::string_view(buffer.data(), n));
          if (!typed.forward.empty()) outbox.push(attach::encode_data(typed.forward));
          if (typed.detached) {
            end = AttachEnd::detached;
            outbox.finish(1001, "detached");
            break;
          }
        }
        winch.cancel(read_ec);
      },
      asio::detached);

  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        boost::system::error_code sig_ec;
        while (true) {
          co_await winch.async_wait(redirect_error(use_awaitable, sig_ec));
          if (sig_ec) break;
          if (auto frame = window_size_frame()) outbox.push(*frame);
        }
      },
      asio::detached);

  asio::co_spawn(io, outbox.run(), asio::detached);
  io.run();
  if (starter.joinable()) starter.join();
  if (!started) return std::unexpected(started.error());
  return end;
}

}  // namespace raind::cli

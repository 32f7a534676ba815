#pragma once
// A timer that runs an action when it expires first, and never after it is disarmed: re-arming,
// disarm() and destruction lower a shared flag, so an expiry already queued when the guarded
// work finished does nothing. The action may therefore refer to the coroutine frame that owns
// the Deadline; a plain timer's handler would run after that frame is gone.
#include <chrono>
#include <functional>
#include <memory>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

namespace raind::condenser::system {

class Deadline {
 public:
  explicit Deadline(const boost::asio::any_io_executor& executor) : timer_(executor) {}
  ~Deadline() { disarm(); }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  void arm(std::chrono::milliseconds limit, std::function<void()> on_expiry) {
    disarm();
    armed_ = std::make_shared<bool>(true);
    timer_.expires_after(limit);
    timer_.async_wait(
        [armed = armed_, action = std::move(on_expiry)](boost::system::error_code ec) {
          if (!ec && *armed) action();
        });
  }
  void disarm() {
    if (armed_) *armed_ = false;
    armed_.reset();
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  std::shared_ptr<bool> armed_;
};

}  // namespace raind::condenser::system

#pragma once
// The detach sequence of an attached terminal: Ctrl-P then Ctrl-Q. Pure: bytes typed in, bytes
// to forward out. A Ctrl-P followed by anything else is forwarded together with that byte, so
// programs that use Ctrl-P (shell history) keep working.
#include <string>
#include <string_view>

namespace raind::cli {

class DetachKeys {
 public:
  static constexpr char kCtrlP = 0x10;
  static constexpr char kCtrlQ = 0x11;

  struct Result {
    std::string forward;    // bytes for the container
    bool detached = false;  // the sequence was typed; later bytes were dropped
  };
  Result feed(std::string_view typed);

 private:
  bool pending_ctrl_p_ = false;
};

}  // namespace raind::cli

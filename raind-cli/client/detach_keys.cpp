#include "raind-cli/client/detach_keys.hpp"

namespace raind::cli {

DetachKeys::Result DetachKeys::feed(std::string_view typed) {
  Result out;
  for (char c : typed) {
    if (pending_ctrl_p_) {
      pending_ctrl_p_ = false;
      if (c == kCtrlQ) {
        out.detached = true;
        return out;
      }
      out.forward.push_back(kCtrlP);
    }
    if (c == kCtrlP) {
      pending_ctrl_p_ = true;
      continue;
    }
    out.forward.push_back(c);
  }
  return out;
}

}  // namespace raind::cli

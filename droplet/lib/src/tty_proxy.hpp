#pragma once
// Foreground `run` of a terminal container without --console-socket: droplet itself receives
// the pty master and copies between it and its own stdio.
#include "raind/error.hpp"
#include "raind/unique_fd.hpp"

namespace raind::droplet {

// Receives one fd sent with SCM_RIGHTS on a connected unix socket.
// nonblocking: fail (EAGAIN) instead of waiting when nothing was sent.
Result<UniqueFd> recv_fd(int sock, bool nonblocking = false);

Status start_tty_proxy(UniqueFd console_peer);
// Flushes the remaining output, restores the terminal, joins the copier thread.
void stop_tty_proxy();

}  // namespace raind::droplet

#pragma once
// An interactive terminal on a container: the WebSocket attach of condenserd (frames of
// raind/attach_frame.hpp up, raw terminal output down), the local terminal in raw mode, window
// size sent at start and on every SIGWINCH, Ctrl-P Ctrl-Q to detach.
#include <functional>
#include <string>

#include "raind-cli/client/client.hpp"

namespace raind::cli {

enum class AttachEnd { detached, closed };

// `target`: e.g. "/v1/containers/<id>/attach". `on_attached` runs (on another thread) once the
// session is established, e.g. to start a created container without losing its first output.
Result<AttachEnd> attach_terminal(Client& client, const std::string& target,
                                  std::function<Status()> on_attached = {});

}  // namespace raind::cli

#pragma once
// Who may call which listener. Identity is the single SPIFFE ID in the client certificate's URI
// SAN (parsed, not prefix-compared):
//   management  spiffe://raind/cli/<name>
//   hooks       spiffe://raind/container/<id>  (the body's id is checked by the hook handler)
//   ca          spiffe://raind/droplet/hook
// No certificate → 401; anything else wrong → 403 with a message saying exactly what.
#include <string>

#include "condenser/api/types.hpp"

namespace raind::condenser::api {

struct AuthzDecision {
  unsigned status = 0;  // 0 allowed, else 401/403
  std::string message;
  SpiffeId identity;
  bool allowed() const { return status == 0; }
};

AuthzDecision authorize(ListenerKind listener, const Peer& peer);
// For hooks: the container id in the caller's SPIFFE ID must equal the id the body talks about.
Status check_container_identity(const SpiffeId& identity, std::string_view container_id);

}  // namespace raind::condenser::api

#include "condenser/api/authz.hpp"

namespace raind::condenser::api {

AuthzDecision authorize(ListenerKind listener, const Peer& peer) {
  AuthzDecision d;
  if (!peer.has_cert) {
    d.status = 401;
    d.message = "client certificate required";
    return d;
  }
  d.status = 403;
  if (peer.uri_sans.empty()) {
    d.message = "client certificate has no URI SAN: a SPIFFE ID is required";
    return d;
  }
  if (peer.uri_sans.size() > 1) {
    d.message = fmt::format("client certificate has {} URI SANs: exactly one SPIFFE ID is required",
                            peer.uri_sans.size());
    return d;
  }
  const std::string& uri = peer.uri_sans.front();
  auto id = parse_spiffe_id(uri);
  if (!id) {
    d.message = fmt::format("client certificate URI SAN is not a valid SPIFFE ID: {}",
                            id.error().message());
    return d;
  }
  if (id->trust_domain != kTrustDomain) {
    d.message = fmt::format("spiffe id '{}' is not in trust domain '{}'", uri, kTrustDomain);
    return d;
  }
  bool ok_id = false;
  std::string_view required;
  switch (listener) {
    case ListenerKind::management:
      ok_id = id->segments.size() == 2 && id->segments[0] == "cli" &&
              is_raind_id_segment(id->segments[1]);
      required = "spiffe://raind/cli/<name>";
      break;
    case ListenerKind::hooks:
      ok_id = id->segments.size() == 2 && id->segments[0] == "container" &&
              is_raind_id_segment(id->segments[1]);
      required = "spiffe://raind/container/<id>";
      break;
    case ListenerKind::ca:
      ok_id = id->segments.size() == 2 && id->segments[0] == "droplet" && id->segments[1] == "hook";
      required = "spiffe://raind/droplet/hook";
      break;
  }
  if (!ok_id) {
    d.message = fmt::format("spiffe id '{}' may not use the {} api (requires {})", uri,
                            listener_name(listener), required);
    return d;
  }
  d.status = 0;
  d.identity = std::move(*id);
  return d;
}

Status check_container_identity(const SpiffeId& identity, std::string_view container_id) {
  if (identity.segments.size() != 2 || identity.segments[0] != "container" ||
      identity.segments[1] != container_id)
    return failf(Errc::permission_denied,
                 "validate failed: spiffe id '{}' does not match container '{}'", identity.str(),
                 container_id);
  return ok();
}

}  // namespace raind::condenser::api

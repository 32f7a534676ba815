#pragma once
// DNS queries as wire bytes, built with ldns, for the proxy's tests.
#include <ldns/ldns.h>

#include <cstdlib>

#include "condenser/dnsproxy/message.hpp"

namespace raind::condenser::dnsproxy::testing {

inline Wire to_wire(ldns_pkt* p) {
  std::uint8_t* out = nullptr;
  std::size_t size = 0;
  Wire w;
  if (ldns_pkt2wire(&out, p, &size) == LDNS_STATUS_OK) w.assign(out, out + size);
  std::free(out);
  ldns_pkt_free(p);
  return w;
}

// A standard query; with `dnssec_ok` it carries EDNS with the DO bit.
inline Wire query(const char* name, ldns_rr_type type = LDNS_RR_TYPE_A, bool dnssec_ok = false,
                  std::uint16_t id = 4242) {
  ldns_pkt* p = nullptr;
  if (ldns_pkt_query_new_frm_str(&p, name, type, LDNS_RR_CLASS_IN, LDNS_RD) != LDNS_STATUS_OK)
    return {};
  ldns_pkt_set_id(p, id);
  if (dnssec_ok) {
    ldns_pkt_set_edns_udp_size(p, 1232);
    ldns_pkt_set_edns_do(p, true);
  }
  return to_wire(p);
}

}  // namespace raind::condenser::dnsproxy::testing

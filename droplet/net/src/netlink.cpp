#include "raind/droplet/netlink.hpp"

#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/route.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <fmt/format.h>

#include "raind/log.hpp"
#include "raind/scope_exit.hpp"
#include "raind/unique_fd.hpp"

namespace raind::droplet::net {
namespace {

struct SockDeleter {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct LinkDeleter {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct AddrDeleter {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
struct RtAddrDeleter {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct RouteDeleter {
  void operator()(rtnl_route* r) const { rtnl_route_put(r); }
};
using Sock = std::unique_ptr<nl_sock, SockDeleter>;
using Link = std::unique_ptr<rtnl_link, LinkDeleter>;
using Addr = std::unique_ptr<nl_addr, AddrDeleter>;
using RtAddr = std::unique_ptr<rtnl_addr, RtAddrDeleter>;
using Route = std::unique_ptr<rtnl_route, RouteDeleter>;

std::unexpected<Error> nl_fail(int err, std::string what) {
  return std::unexpected(Error(Errc::system, fmt::format("{}: {}", what, nl_geterror(err))));
}

Result<Sock> connect_route_socket() {
  Sock sock(nl_socket_alloc());
  if (!sock) return fail(Errc::system, "netlink: cannot allocate socket");
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
    return nl_fail(err, "netlink: connect NETLINK_ROUTE");
  return sock;
}

Result<Link> get_link(nl_sock* sock, std::string_view name) {
  rtnl_link* link = nullptr;
  std::string n(name);
  if (int err = rtnl_link_get_kernel(sock, 0, n.c_str(), &link); err < 0)
    return nl_fail(err, fmt::format("interface {}", name));
  return Link(link);
}

Status set_up(nl_sock* sock, rtnl_link* link, std::string_view name) {
  Link change(rtnl_link_alloc());
  rtnl_link_set_flags(change.get(), IFF_UP);
  if (int err = rtnl_link_change(sock, link, change.get(), 0); err < 0)
    return nl_fail(err, fmt::format("set {} up", name));
  return ok();
}

Addr ipv4_addr(std::uint32_t host_order, unsigned prefix) {
  std::uint32_t net = htonl(host_order);
  Addr addr(nl_addr_build(AF_INET, &net, sizeof(net)));
  nl_addr_set_prefixlen(addr.get(), static_cast<int>(prefix));
  return addr;
}

// Raind's rules are IPv4 only, so the container's side gets no IPv6 at all: otherwise link-local
// IPv6 between two containers on one bridge would pass the east-west default deny unseen.
// /proc/sys/net resolves against the opening thread's network namespace, which is the
// container's here. Loopback keeps ::1. A kernel without IPv6 has no such files: nothing to do.
Status disable_ipv6_inside() {
  for (std::string_view conf : {std::string_view("default"), kContainerInterface}) {
    const std::string path = fmt::format("/proc/sys/net/ipv6/conf/{}/disable_ipv6", conf);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) continue;
      return fail_errno(fmt::format("open {}", path));
    }
    if (::write(fd.get(), "1", 1) != 1) return fail_errno(fmt::format("write {}", path));
  }
  return ok();
}

// Runs inside the container's network namespace (on a dedicated thread that setns'd there).
Status configure_inside(const NetConfig& cfg) {
  RAIND_TRY(disable_ipv6_inside());
  RAIND_TRY_ASSIGN(Sock sock, connect_route_socket());
  RAIND_TRY_ASSIGN(Link lo, get_link(sock.get(), "lo"));
  RAIND_TRY(set_up(sock.get(), lo.get(), "lo"));

  const std::string eth0(kContainerInterface);
  RAIND_TRY_ASSIGN(Link link, get_link(sock.get(), eth0));
  {
    Link change(rtnl_link_alloc());
    Addr mac(nl_addr_build(AF_LLC, cfg.mac.data(), cfg.mac.size()));
    rtnl_link_set_addr(change.get(), mac.get());
    rtnl_link_set_mtu(change.get(), cfg.mtu);
    if (int err = rtnl_link_change(sock.get(), link.get(), change.get(), 0); err < 0)
      return nl_fail(
          err, fmt::format("set mac {} and mtu {} on {}", mac_to_string(cfg.mac), cfg.mtu, eth0));
  }
  {
    RtAddr addr(rtnl_addr_alloc());
    rtnl_addr_set_ifindex(addr.get(), rtnl_link_get_ifindex(link.get()));
    Addr local = ipv4_addr(cfg.address.address, cfg.address.prefix);
    rtnl_addr_set_local(addr.get(), local.get());
    rtnl_addr_set_prefixlen(addr.get(), static_cast<int>(cfg.address.prefix));
    std::uint32_t mask = ~std::uint32_t{0} << (32 - cfg.address.prefix);
    Addr broadcast = ipv4_addr((cfg.address.address & mask) | ~mask, 32);
    rtnl_addr_set_broadcast(addr.get(), broadcast.get());
    if (int err = rtnl_addr_add(sock.get(), addr.get(), 0); err < 0)
      return nl_fail(err, fmt::format("add address {} to {}", cfg.address.to_string(), eth0));
  }
  RAIND_TRY(set_up(sock.get(), link.get(), eth0));
  {
    Route route(rtnl_route_alloc());
    rtnl_route_set_family(route.get(), AF_INET);
    rtnl_route_set_table(route.get(), RT_TABLE_MAIN);
    rtnl_route_set_protocol(route.get(), RTPROT_BOOT);
    rtnl_route_set_scope(route.get(), RT_SCOPE_UNIVERSE);
    rtnl_route_set_type(route.get(), RTN_UNICAST);
    Addr any = ipv4_addr(0, 0);
    rtnl_route_set_dst(route.get(), any.get());
    rtnl_nexthop* nh = rtnl_route_nh_alloc();  // owned by the route once added
    Addr gateway = ipv4_addr(cfg.gateway, 32);
    rtnl_route_nh_set_gateway(nh, gateway.get());
    rtnl_route_nh_set_ifindex(nh, rtnl_link_get_ifindex(link.get()));
    rtnl_route_add_nexthop(route.get(), nh);
    if (int err = rtnl_route_add(sock.get(), route.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
      return nl_fail(
          err, fmt::format("add default route via {} on {}", ipv4_to_string(cfg.gateway), eth0));
  }
  return ok();
}

// setns() affects only the calling thread, so the container side is configured on a short-lived
// thread: the rest of droplet stays in the runtime's namespace.
Status run_in_netns(int netns_fd, const NetConfig& cfg) {
  Status result = fail(Errc::internal, "netns worker did not run");
  std::thread worker([&] {
    if (setns(netns_fd, CLONE_NEWNET) != 0) {
      result = fail_errno("setns into the container network namespace");
      return;
    }
    result = configure_inside(cfg);
  });
  worker.join();
  return result;
}

}  // namespace

bool interface_exists(std::string_view name) {
  std::string n(name);
  return if_nametoindex(n.c_str()) != 0;
}

Status check_bridge(std::string_view name) {
  RAIND_TRY_ASSIGN(Sock sock, connect_route_socket());
  auto link = get_link(sock.get(), name);
  if (!link) return failf(Errc::not_found, "bridge {} does not exist", name);
  const char* type = rtnl_link_get_type(link->get());
  if (!type || std::string_view(type) != "bridge")
    return failf(Errc::invalid_argument, "interface {} is not a bridge", name);
  return ok();
}

Status setup_container_network(const NetConfig& cfg, int netns_fd) {
  auto log = raind::logger("droplet.net");
  RAIND_TRY(check_bridge(cfg.bridge_interface));
  RAIND_TRY_ASSIGN(Sock sock, connect_route_socket());
  if (interface_exists(cfg.veth_name))
    return failf(Errc::already_exists, "interface {} already exists", cfg.veth_name);

  {
    Link veth(rtnl_link_veth_alloc());
    if (!veth) return fail(Errc::system, "netlink: cannot allocate veth");
    rtnl_link_set_name(veth.get(), cfg.veth_name.c_str());
    rtnl_link_set_mtu(veth.get(), cfg.mtu);
    Link peer(rtnl_link_veth_get_peer(veth.get()));
    const std::string eth0(kContainerInterface);
    rtnl_link_set_name(peer.get(), eth0.c_str());
    rtnl_link_set_mtu(peer.get(), cfg.mtu);
    rtnl_link_set_ns_fd(peer.get(), netns_fd);
    if (int err = rtnl_link_add(sock.get(), veth.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
      return nl_fail(
          err, fmt::format("create veth {} with peer {} in the container", cfg.veth_name, eth0));
  }
  ScopeExit remove_on_failure([&] { (void)remove_host_interface(cfg.veth_name); });

  RAIND_TRY_ASSIGN(Link host_end, get_link(sock.get(), cfg.veth_name));
  RAIND_TRY_ASSIGN(Link bridge, get_link(sock.get(), cfg.bridge_interface));
  if (int err = rtnl_link_enslave(sock.get(), bridge.get(), host_end.get()); err < 0)
    return nl_fail(err, fmt::format("attach {} to bridge {}", cfg.veth_name, cfg.bridge_interface));
  RAIND_TRY(set_up(sock.get(), host_end.get(), cfg.veth_name));

  RAIND_TRY(with_context(run_in_netns(netns_fd, cfg), "configure container network"));
  remove_on_failure.dismiss();
  log->debug("veth {} on {} -> eth0 {} gw {}", cfg.veth_name, cfg.bridge_interface,
             cfg.address.to_string(), ipv4_to_string(cfg.gateway));
  return ok();
}

Status remove_host_interface(std::string_view name) {
  RAIND_TRY_ASSIGN(Sock sock, connect_route_socket());
  Link link(rtnl_link_alloc());
  std::string n(name);
  rtnl_link_set_name(link.get(), n.c_str());
  int err = rtnl_link_delete(sock.get(), link.get());
  if (err < 0 && err != -NLE_NODEV && err != -NLE_OBJ_NOTFOUND)
    return nl_fail(err, fmt::format("delete interface {}", name));
  return ok();
}

}  // namespace raind::droplet::net

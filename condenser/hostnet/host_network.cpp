#include "condenser/hostnet/host_network.hpp"

#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>

#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "raind/log.hpp"
#include "raind/sys/files.hpp"
#include "raind/sys/process.hpp"

namespace raind::condenser::hostnet {
namespace {

struct SockDeleter {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct LinkDeleter {
  void operator()(rtnl_link* l) const { rtnl_link_put(l); }
};
struct NlAddrDeleter {
  void operator()(nl_addr* a) const { nl_addr_put(a); }
};
struct RtAddrDeleter {
  void operator()(rtnl_addr* a) const { rtnl_addr_put(a); }
};
struct CacheDeleter {
  void operator()(nl_cache* c) const { nl_cache_free(c); }
};
using Sock = std::unique_ptr<nl_sock, SockDeleter>;
using Link = std::unique_ptr<rtnl_link, LinkDeleter>;
using NlAddr = std::unique_ptr<nl_addr, NlAddrDeleter>;
using RtAddr = std::unique_ptr<rtnl_addr, RtAddrDeleter>;
using Cache = std::unique_ptr<nl_cache, CacheDeleter>;

std::unexpected<Error> nl_fail(int err, std::string what) {
  return std::unexpected(Error(Errc::system, fmt::format("{}: {}", what, nl_geterror(err))));
}

Result<Sock> route_socket() {
  Sock sock(nl_socket_alloc());
  if (!sock) return fail(Errc::system, "netlink: cannot allocate a socket");
  if (int err = nl_connect(sock.get(), NETLINK_ROUTE); err < 0)
    return nl_fail(err, "netlink: connect");
  return sock;
}

// nullptr when absent.
Result<Link> find_link(nl_sock* sock, std::string_view name) {
  rtnl_link* link = nullptr;
  std::string n(name);
  int err = rtnl_link_get_kernel(sock, 0, n.c_str(), &link);
  if (err == -NLE_OBJ_NOTFOUND || err == -NLE_NODEV) return Link();
  if (err < 0) return nl_fail(err, fmt::format("interface {}", name));
  return Link(link);
}

Result<Cache> link_cache(nl_sock* sock) {
  nl_cache* cache = nullptr;
  if (int err = rtnl_link_alloc_cache(sock, AF_UNSPEC, &cache); err < 0)
    return nl_fail(err, "netlink: list interfaces");
  return Cache(cache);
}

Status write_sysctl(const std::filesystem::path& path, std::string_view value) {
  auto current = sys::read_file(path);
  if (current && !current->empty() && current->substr(0, current->find('\n')) == value) return ok();
  return with_context(sys::write_file(path, std::string(value) + "\n"),
                      fmt::format("sysctl {}", path.string()));
}

Result<sys::RunResult> run_tool(const std::vector<std::string>& argv,
                                std::optional<std::string> input = std::nullopt) {
  sys::RunOptions options;
  options.stdin_data = std::move(input);
  options.timeout = std::chrono::seconds(30);
  return sys::run(argv, options);
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

Status ensure_bridge(std::string_view name, std::string_view gateway_cidr) {
  if (name.empty() || name.size() >= IFNAMSIZ)
    return failf(Errc::invalid_argument, "bridge name '{}' must be 1-{} characters", name,
                 IFNAMSIZ - 1);
  RAIND_TRY_ASSIGN(auto sock, route_socket());
  RAIND_TRY_ASSIGN(auto link, find_link(sock.get(), name));
  if (!link) {
    Link bridge(rtnl_link_bridge_alloc());
    if (!bridge) return fail(Errc::system, "netlink: cannot allocate a bridge");
    rtnl_link_set_name(bridge.get(), std::string(name).c_str());
    int err = rtnl_link_add(sock.get(), bridge.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err < 0 && err != -NLE_EXIST) return nl_fail(err, fmt::format("create bridge {}", name));
    RAIND_TRY_ASSIGN(link, find_link(sock.get(), name));
    if (!link) return failf(Errc::system, "bridge {} vanished after creation", name);
  } else if (!rtnl_link_is_bridge(link.get())) {
    return failf(Errc::conflict, "interface {} exists and is not a bridge", name);
  }
  const int ifindex = rtnl_link_get_ifindex(link.get());

  nl_addr* parsed = nullptr;
  if (int err = nl_addr_parse(std::string(gateway_cidr).c_str(), AF_INET, &parsed); err < 0)
    return nl_fail(err, fmt::format("gateway address '{}'", gateway_cidr));
  NlAddr local(parsed);
  RtAddr addr(rtnl_addr_alloc());
  rtnl_addr_set_ifindex(addr.get(), ifindex);
  rtnl_addr_set_family(addr.get(), AF_INET);
  rtnl_addr_set_local(addr.get(), local.get());
  rtnl_addr_set_prefixlen(addr.get(), nl_addr_get_prefixlen(local.get()));
  if (int err = rtnl_addr_add(sock.get(), addr.get(), 0); err < 0 && err != -NLE_EXIST)
    return nl_fail(err, fmt::format("address {} on {}", gateway_cidr, name));

  if (!(rtnl_link_get_flags(link.get()) & IFF_UP)) {
    Link change(rtnl_link_alloc());
    rtnl_link_set_flags(change.get(), IFF_UP);
    if (int err = rtnl_link_change(sock.get(), link.get(), change.get(), 0); err < 0)
      return nl_fail(err, fmt::format("set {} up", name));
  }
  // The bridge's own switch; the namespace-wide sysctl (enable_forwarding) covers it too, and
  // /sys shows this namespace's bridges only when it was mounted from here.
  auto per_bridge = std::filesystem::path("/sys/class/net") / name / "bridge/nf_call_iptables";
  if (std::filesystem::exists(per_bridge)) {
    if (auto s = write_sysctl(per_bridge, "1"); !s)
      logger("condenser.net")->warn("{}: {}", name, s.error().what());
  }
  return ok();
}

Status remove_link(std::string_view name) {
  RAIND_TRY_ASSIGN(auto sock, route_socket());
  RAIND_TRY_ASSIGN(auto link, find_link(sock.get(), name));
  if (!link) return ok();
  int err = rtnl_link_delete(sock.get(), link.get());
  if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV)
    return nl_fail(err, fmt::format("delete interface {}", name));
  return ok();
}

Status remove_bridge(std::string_view name) {
  return remove_link(name);
}

bool link_exists(std::string_view name) {
  auto sock = route_socket();
  if (!sock) return false;
  auto link = find_link(sock->get(), name);
  return link && *link;
}

std::vector<std::string> list_links_with_prefix(std::string_view prefix) {
  std::vector<std::string> out;
  auto sock = route_socket();
  if (!sock) return out;
  auto cache = link_cache(sock->get());
  if (!cache) return out;
  for (nl_object* obj = nl_cache_get_first(cache->get()); obj; obj = nl_cache_get_next(obj)) {
    const char* name = rtnl_link_get_name(reinterpret_cast<rtnl_link*>(obj));
    if (name && std::string_view(name).substr(0, prefix.size()) == prefix) out.emplace_back(name);
  }
  return out;
}

Status enable_forwarding() {
  RAIND_TRY(write_sysctl("/proc/sys/net/ipv4/ip_forward", "1"));
  const std::filesystem::path bridge_nf = "/proc/sys/net/bridge/bridge-nf-call-iptables";
  if (!std::filesystem::exists(bridge_nf)) {
    auto loaded = run_tool({"modprobe", "br_netfilter"});
    if (!std::filesystem::exists(bridge_nf))
      return failf(Errc::unsupported,
                   "{} is missing and br_netfilter could not be loaded{}: bridged container "
                   "traffic would bypass iptables",
                   bridge_nf.string(),
                   loaded ? ": " + trimmed(loaded->err) : ": " + loaded.error().what());
  }
  return write_sysctl(bridge_nf, "1");
}

Status apply_nat(const NatInput& input, const IptablesBackend& backend) {
  const std::string payload = render_nat_rules(input);
  RAIND_TRY_ASSIGN(auto restored, run_tool({backend.restore, "-w", "5", "--noflush"}, payload));
  if (restored.status.shell_code() != 0)
    return failf(Errc::system, "{} failed: {}", backend.restore, trimmed(restored.err));
  for (const auto& jump : nat_jumps()) {
    std::vector<std::string> check{backend.iptables, "-w", "5", "-t", "nat", "-C", jump.chain};
    check.insert(check.end(), jump.spec.begin(), jump.spec.end());
    RAIND_TRY_ASSIGN(auto present, run_tool(check));
    if (present.status.shell_code() == 0) continue;
    std::vector<std::string> insert{backend.iptables, "-w", "5", "-t", "nat", "-I",
                                    jump.chain,       "1"};
    insert.insert(insert.end(), jump.spec.begin(), jump.spec.end());
    RAIND_TRY_ASSIGN(auto added, run_tool(insert));
    if (added.status.shell_code() != 0)
      return failf(Errc::system, "{} -t nat -I {}: {}", backend.iptables, jump.chain,
                   trimmed(added.err));
  }
  return ok();
}

Status remove_nat(const IptablesBackend& backend) {
  for (const auto& jump : nat_jumps()) {
    while (true) {
      std::vector<std::string> del{backend.iptables, "-w", "5", "-t", "nat", "-D", jump.chain};
      del.insert(del.end(), jump.spec.begin(), jump.spec.end());
      RAIND_TRY_ASSIGN(auto r, run_tool(del));
      if (r.status.shell_code() != 0) break;
    }
  }
  for (auto chain : {kPublishChain, kPostroutingChain}) {
    RAIND_TRY(run_tool({backend.iptables, "-w", "5", "-t", "nat", "-F", std::string(chain)}));
    RAIND_TRY(run_tool({backend.iptables, "-w", "5", "-t", "nat", "-X", std::string(chain)}));
  }
  return ok();
}

}  // namespace raind::condenser::hostnet

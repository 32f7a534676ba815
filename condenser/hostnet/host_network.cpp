#include "condenser/hostnet/host_network.hpp"

#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netlink/addr.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>

#include <fmt/format.h>

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
struct MsgDeleter {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};
using Sock = std::unique_ptr<nl_sock, SockDeleter>;
using Link = std::unique_ptr<rtnl_link, LinkDeleter>;
using NlAddr = std::unique_ptr<nl_addr, NlAddrDeleter>;
using RtAddr = std::unique_ptr<rtnl_addr, RtAddrDeleter>;
using Cache = std::unique_ptr<nl_cache, CacheDeleter>;
using Msg = std::unique_ptr<nl_msg, MsgDeleter>;

constexpr auto kToolTimeout = std::chrono::seconds(30);

std::unexpected<Error> nl_fail(int err, std::string what) {
  return std::unexpected(Error(Errc::system, fmt::format("{}: {}", what, nl_geterror(err))));
}

Status check_ifname(std::string_view name) {
  if (name.empty() || name.size() >= IFNAMSIZ || name.find('/') != std::string_view::npos)
    return failf(Errc::invalid_argument, "interface name '{}' must be 1-{} characters, no '/'",
                 name, IFNAMSIZ - 1);
  return ok();
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

bool is_bridge(rtnl_link* link) {
  const char* type = rtnl_link_get_type(link);
  return type && std::string_view(type) == "bridge";
}

// Builds an RTM_NEWLINK/RTM_SETLINK request for one interface; the caller adds attributes.
Result<Msg> link_request(int type, int family, int ifindex) {
  Msg msg(nlmsg_alloc_simple(type, NLM_F_REQUEST | NLM_F_ACK));
  if (!msg) return fail(Errc::system, "netlink: cannot allocate a message");
  ifinfomsg ifi{};
  ifi.ifi_family = static_cast<unsigned char>(family);
  ifi.ifi_index = ifindex;
  if (nlmsg_append(msg.get(), &ifi, sizeof(ifi), NLMSG_ALIGNTO) < 0)
    return fail(Errc::system, "netlink: message too small");
  return msg;
}

// Sends and waits for the kernel's ack; nl_send_sync frees the message whatever happens.
Status send_sync(nl_sock* sock, Msg msg, std::string what) {
  if (int err = nl_send_sync(sock, msg.release()); err < 0) return nl_fail(err, std::move(what));
  return ok();
}

// IFLA_LINKINFO { KIND "bridge", DATA { IFLA_BR_NF_CALL_IPTABLES 1 } }: the per-bridge switch
// (`ip link set <br> type bridge nf_call_iptables 1`). libnl 3.7 has no setter for it.
Status set_bridge_nf_call_iptables(nl_sock* sock, int ifindex, std::string_view name) {
  RAIND_TRY_ASSIGN(auto msg, link_request(RTM_NEWLINK, AF_UNSPEC, ifindex));
  nlattr* info = nla_nest_start(msg.get(), IFLA_LINKINFO);
  if (!info || nla_put_string(msg.get(), IFLA_INFO_KIND, "bridge") < 0)
    return fail(Errc::system, "netlink: message too small");
  nlattr* data = nla_nest_start(msg.get(), IFLA_INFO_DATA);
  if (!data || nla_put_u8(msg.get(), IFLA_BR_NF_CALL_IPTABLES, 1) < 0)
    return fail(Errc::system, "netlink: message too small");
  nla_nest_end(msg.get(), data);
  nla_nest_end(msg.get(), info);
  return send_sync(sock, std::move(msg), fmt::format("set nf_call_iptables on bridge {}", name));
}

Status write_sysctl(const std::filesystem::path& path, std::string_view value) {
  auto current = sys::read_file(path);
  if (current && current->substr(0, current->find('\n')) == value) return ok();
  return with_context(sys::write_existing(path, std::string(value) + "\n"),
                      fmt::format("sysctl {}", path.string()));
}

Result<sys::RunResult> run_tool(const std::vector<std::string>& argv,
                                std::optional<std::string> input = std::nullopt) {
  sys::RunOptions options;
  options.stdin_data = std::move(input);
  options.timeout = kToolTimeout;
  return sys::run(argv, options);
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::vector<std::string> nat_command(const IptablesBackend& backend, std::string_view op,
                                     const Jump& jump, std::vector<std::string> position = {}) {
  std::vector<std::string> argv{backend.iptables, "-w",      "5", "-t", "nat",
                                std::string(op),  jump.chain};
  argv.insert(argv.end(), position.begin(), position.end());
  argv.insert(argv.end(), jump.spec.begin(), jump.spec.end());
  return argv;
}

// Serialises apply_nat/remove_nat within the daemon: the check-then-insert of a jump must not
// interleave with another one (the xtables lock covers single commands only).
std::mutex& nat_mutex() {
  static std::mutex mutex;
  return mutex;
}

}  // namespace

namespace {

Result<NlAddr> parse_interface_address(std::string_view cidr) {
  nl_addr* parsed = nullptr;
  if (int err = nl_addr_parse(std::string(cidr).c_str(), AF_INET, &parsed); err < 0)
    return nl_fail(err, fmt::format("address '{}'", cidr));
  NlAddr local(parsed);
  if (nl_addr_get_family(local.get()) != AF_INET || nl_addr_get_prefixlen(local.get()) == 0 ||
      nl_addr_get_prefixlen(local.get()) > 32)
    return failf(Errc::invalid_argument, "address '{}' is not IPv4 address/prefix", cidr);
  return local;
}

// The link named `name` of `kind`, created when missing; an existing link of another kind is
// refused.
Result<Link> ensure_link(nl_sock* sock, std::string_view name, const char* kind, unsigned mtu) {
  RAIND_TRY_ASSIGN(auto link, find_link(sock, name));
  if (!link) {
    Link fresh(rtnl_link_alloc());
    if (!fresh) return fail(Errc::system, "netlink: cannot allocate a link");
    if (int err = rtnl_link_set_type(fresh.get(), kind); err < 0)
      return nl_fail(err, fmt::format("netlink: {} link type", kind));
    rtnl_link_set_name(fresh.get(), std::string(name).c_str());
    if (mtu) rtnl_link_set_mtu(fresh.get(), mtu);
    // EEXIST: created concurrently by someone else; checked below like any existing link.
    int err = rtnl_link_add(sock, fresh.get(), NLM_F_CREATE | NLM_F_EXCL);
    if (err < 0 && err != -NLE_EXIST) return nl_fail(err, fmt::format("create {} {}", kind, name));
    RAIND_TRY_ASSIGN(link, find_link(sock, name));
    if (!link) return failf(Errc::system, "{} {} vanished after creation", kind, name);
  }
  const char* type = rtnl_link_get_type(link.get());
  if (!type || std::string_view(type) != kind)
    return failf(Errc::conflict, "interface {} exists and is not a {}", name, kind);
  return link;
}

// Gives the link its address (already present is fine) and brings it up with `mtu`.
Status address_and_raise(nl_sock* sock, rtnl_link* link, nl_addr* local, std::string_view cidr,
                         std::string_view name, unsigned mtu) {
  RtAddr addr(rtnl_addr_alloc());
  if (!addr) return fail(Errc::system, "netlink: cannot allocate an address");
  rtnl_addr_set_ifindex(addr.get(), rtnl_link_get_ifindex(link));
  rtnl_addr_set_family(addr.get(), AF_INET);
  if (int err = rtnl_addr_set_local(addr.get(), local); err < 0)
    return nl_fail(err, "netlink: address");
  rtnl_addr_set_prefixlen(addr.get(), nl_addr_get_prefixlen(local));
  // The kernel answers EEXIST when the link already has this address: that is the idempotent
  // case, not a failure.
  if (int err = rtnl_addr_add(sock, addr.get(), 0); err < 0 && err != -NLE_EXIST)
    return nl_fail(err, fmt::format("add address {} to {}", cidr, name));
  const bool up = rtnl_link_get_flags(link) & IFF_UP;
  const bool mtu_ok = mtu == 0 || rtnl_link_get_mtu(link) == mtu;
  if (!up || !mtu_ok) {
    Link change(rtnl_link_alloc());
    if (!change) return fail(Errc::system, "netlink: cannot allocate a link");
    rtnl_link_set_flags(change.get(), IFF_UP);
    if (mtu) rtnl_link_set_mtu(change.get(), mtu);
    if (int err = rtnl_link_change(sock, link, change.get(), 0); err < 0)
      return nl_fail(err, fmt::format("set {} up (mtu {})", name, mtu));
  }
  return ok();
}

}  // namespace

Status ensure_bridge(std::string_view name, std::string_view gateway_cidr, unsigned mtu) {
  RAIND_TRY(check_ifname(name));
  auto ctx = [&](Status s) { return with_context(std::move(s), fmt::format("bridge {}", name)); };
  RAIND_TRY_ASSIGN(auto local, parse_interface_address(gateway_cidr));
  if (nl_addr_get_prefixlen(local.get()) >= 32)
    return failf(Errc::invalid_argument, "gateway address '{}' is not IPv4 address/prefix",
                 gateway_cidr);
  RAIND_TRY_ASSIGN(auto sock, route_socket());
  RAIND_TRY_ASSIGN(auto link, ensure_link(sock.get(), name, "bridge", mtu));
  RAIND_TRY(ctx(set_bridge_nf_call_iptables(sock.get(), rtnl_link_get_ifindex(link.get()), name)));
  return address_and_raise(sock.get(), link.get(), local.get(), gateway_cidr, name, mtu);
}

Status ensure_dummy(std::string_view name, std::string_view address_cidr) {
  RAIND_TRY(check_ifname(name));
  RAIND_TRY_ASSIGN(auto local, parse_interface_address(address_cidr));
  RAIND_TRY_ASSIGN(auto sock, route_socket());
  auto link = ensure_link(sock.get(), name, "dummy", 0);
  // Kernels built without CONFIG_DUMMY: a bridge without ports holds a local address as well.
  if (!link) link = ensure_link(sock.get(), name, "bridge", 0);
  if (!link) return std::unexpected(std::move(link.error()));
  return address_and_raise(sock.get(), link->get(), local.get(), address_cidr, name, 0);
}

Status remove_link(std::string_view name) {
  RAIND_TRY(check_ifname(name));
  RAIND_TRY_ASSIGN(auto sock, route_socket());
  RAIND_TRY_ASSIGN(auto link, find_link(sock.get(), name));
  if (!link) return ok();
  int err = rtnl_link_delete(sock.get(), link.get());
  if (err < 0 && err != -NLE_OBJ_NOTFOUND && err != -NLE_NODEV)
    return nl_fail(err, fmt::format("delete interface {}", name));
  return ok();
}

Status remove_bridge(std::string_view name) {
  RAIND_TRY(check_ifname(name));
  RAIND_TRY_ASSIGN(auto sock, route_socket());
  RAIND_TRY_ASSIGN(auto link, find_link(sock.get(), name));
  if (!link) return ok();
  if (!is_bridge(link.get()))
    return failf(Errc::conflict, "interface {} is not a bridge; not removing it", name);
  return remove_link(name);
}

bool link_exists(std::string_view name) {
  if (!check_ifname(name)) return false;
  auto sock = route_socket();
  if (!sock) return false;
  auto link = find_link(sock->get(), name);
  return link && *link;
}

std::vector<std::string> list_links_with_prefix(std::string_view prefix) {
  std::vector<std::string> out;
  auto sock = route_socket();
  if (!sock) return out;
  nl_cache* raw = nullptr;
  if (rtnl_link_alloc_cache(sock->get(), AF_UNSPEC, &raw) < 0) return out;
  Cache cache(raw);
  for (nl_object* obj = nl_cache_get_first(cache.get()); obj; obj = nl_cache_get_next(obj)) {
    const char* name = rtnl_link_get_name(reinterpret_cast<rtnl_link*>(obj));
    if (name && std::string_view(name).starts_with(prefix)) out.emplace_back(name);
  }
  return out;
}

Status set_hairpin(std::string_view bridge_port) {
  RAIND_TRY(check_ifname(bridge_port));
  RAIND_TRY_ASSIGN(auto sock, route_socket());
  RAIND_TRY_ASSIGN(auto link, find_link(sock.get(), bridge_port));
  if (!link) return failf(Errc::not_found, "interface {} does not exist", bridge_port);
  if (rtnl_link_get_master(link.get()) <= 0)
    return failf(Errc::conflict, "interface {} is not attached to a bridge", bridge_port);
  // RTM_SETLINK, family AF_BRIDGE, IFLA_PROTINFO (nested) { IFLA_BRPORT_MODE 1 }, as
  // `bridge link set dev <port> hairpin on` sends it.
  RAIND_TRY_ASSIGN(auto msg,
                   link_request(RTM_SETLINK, AF_BRIDGE, rtnl_link_get_ifindex(link.get())));
  nlattr* protinfo = nla_nest_start(msg.get(), IFLA_PROTINFO | NLA_F_NESTED);
  if (!protinfo || nla_put_u8(msg.get(), IFLA_BRPORT_MODE, 1) < 0)
    return fail(Errc::system, "netlink: message too small");
  nla_nest_end(msg.get(), protinfo);
  return send_sync(sock.get(), std::move(msg), fmt::format("set hairpin on {}", bridge_port));
}

Status enable_forwarding() {
  RAIND_TRY(write_sysctl("/proc/sys/net/ipv4/ip_forward", "1"));
  const std::filesystem::path bridge_nf = "/proc/sys/net/bridge/bridge-nf-call-iptables";
  if (!sys::exists(bridge_nf)) {
    auto loaded = run_tool({"modprobe", "br_netfilter"});
    if (!sys::exists(bridge_nf)) {
      std::string why = !loaded                            ? loaded.error().what()
                        : loaded->status.shell_code() != 0 ? trimmed(loaded->err)
                                                           : std::string("no error reported");
      return failf(Errc::unsupported,
                   "{} is missing and modprobe br_netfilter did not add it ({}): bridged "
                   "container traffic would bypass iptables",
                   bridge_nf.string(), why);
    }
  }
  return write_sysctl(bridge_nf, "1");
}

Status apply_nat(const NatInput& input, const IptablesBackend& backend) {
  RAIND_TRY(validate_nat_input(input));
  std::lock_guard lock(nat_mutex());
  // Flushes and refills both chains in one transaction; the built-in chains stay untouched.
  RAIND_TRY_ASSIGN(auto restored,
                   run_tool({backend.restore, "-w", "5", "--noflush"}, render_nat_rules(input)));
  if (restored.status.shell_code() != 0)
    return failf(Errc::system, "{} --noflush (nat) failed with status {}: {}", backend.restore,
                 restored.status.shell_code(), trimmed(restored.err));
  for (const auto& jump : nat_jumps()) {
    RAIND_TRY_ASSIGN(auto present, run_tool(nat_command(backend, "-C", jump)));
    if (present.status.shell_code() == 0) continue;
    RAIND_TRY_ASSIGN(auto added, run_tool(nat_command(backend, "-I", jump, {"1"})));
    if (added.status.shell_code() != 0)
      return failf(Errc::system, "{} -t nat -I {} failed with status {}: {}", backend.iptables,
                   jump.chain, added.status.shell_code(), trimmed(added.err));
  }
  return ok();
}

Status remove_nat(const IptablesBackend& backend) {
  std::lock_guard lock(nat_mutex());
  for (const auto& jump : nat_jumps()) {
    // Every copy (a crash between check and insert elsewhere could have left two); bounded.
    for (int i = 0; i < 16; ++i) {
      RAIND_TRY_ASSIGN(auto r, run_tool(nat_command(backend, "-D", jump)));
      if (r.status.shell_code() != 0) break;
    }
  }
  std::string last_err;
  for (auto chain : {kDnsChain, kPublishChain, kPostroutingChain}) {
    for (const char* op : {"-F", "-X"}) {
      RAIND_TRY_ASSIGN(
          auto r, run_tool({backend.iptables, "-w", "5", "-t", "nat", op, std::string(chain)}));
      if (r.status.shell_code() != 0) last_err = trimmed(r.err);
    }
  }
  RAIND_TRY_ASSIGN(auto saved, run_tool({backend.save, "-t", "nat"}));
  if (saved.status.shell_code() != 0)
    return failf(Errc::system, "{} -t nat failed: {}", backend.save, trimmed(saved.err));
  for (auto chain : {kDnsChain, kPublishChain, kPostroutingChain}) {
    if (saved.out.find(fmt::format("\n:{} ", chain)) != std::string::npos)
      return failf(Errc::conflict, "nat chain {} is still present after removal: {}", chain,
                   last_err);
  }
  return ok();
}

IptablesBackend nft_backend() {
  return {"iptables-nft-restore", "iptables-nft-save", "iptables-nft"};
}
IptablesBackend legacy_backend() {
  return {"iptables-legacy-restore", "iptables-legacy-save", "iptables-legacy"};
}

Result<IptablesBackend> choose_iptables_backend(std::string_view setting) {
  if (setting == "nft") return nft_backend();
  if (setting == "legacy") return legacy_backend();
  if (setting != "auto")
    return failf(Errc::invalid_argument, "iptables backend '{}' is not auto, nft or legacy",
                 setting);
  auto rules_in = [](const IptablesBackend& b) -> long {
    auto saved = run_tool({b.save});
    if (!saved || saved->status.shell_code() != 0) return -1;
    long n = 0;
    for (std::size_t at = saved->out.find("\n-A "); at != std::string::npos;
         at = saved->out.find("\n-A ", at + 1))
      ++n;
    return n;
  };
  long nft = rules_in(nft_backend()), legacy = rules_in(legacy_backend());
  if (nft < 0 && legacy < 0)
    return failf(Errc::unsupported, "neither iptables-nft nor iptables-legacy works here");
  if (legacy > 0 && nft <= 0) return legacy_backend();
  return nft >= 0 ? nft_backend() : legacy_backend();
}

std::vector<std::string> chain_rules(std::string_view text,
                                     const std::vector<std::string>& chains) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (!line.starts_with("-A ")) continue;
    auto chain = line.substr(3, line.find(' ', 3) - 3);
    if (std::find(chains.begin(), chains.end(), chain) != chains.end()) out.emplace_back(line);
  }
  return out;
}

namespace {
std::mutex& filter_mutex() {
  static std::mutex m;
  return m;
}
}  // namespace

Status apply_filter(const FilterRules& rules, const IptablesBackend& backend) {
  std::lock_guard lock(filter_mutex());
  RAIND_TRY_ASSIGN(auto restored,
                   run_tool({backend.restore, "-w", "5", "--noflush"}, rules.payload));
  if (restored.status.shell_code() != 0)
    return failf(Errc::system, "{} --noflush (filter) failed with status {}: {}", backend.restore,
                 restored.status.shell_code(), trimmed(restored.err));
  for (const auto& [builtin, target] : rules.jumps) {
    RAIND_TRY_ASSIGN(auto present, run_tool({backend.iptables, "-w", "5", "-t", "filter", "-C",
                                             builtin, "-j", target}));
    if (present.status.shell_code() == 0) continue;
    RAIND_TRY_ASSIGN(auto added, run_tool({backend.iptables, "-w", "5", "-t", "filter", "-I",
                                           builtin, "1", "-j", target}));
    if (added.status.shell_code() != 0)
      return failf(Errc::system, "{} -I {} -j {} failed: {}", backend.iptables, builtin, target,
                   trimmed(added.err));
  }
  RAIND_TRY_ASSIGN(auto saved, run_tool({backend.save, "-t", "filter"}));
  if (saved.status.shell_code() != 0)
    return failf(Errc::system, "{} -t filter failed: {}", backend.save, trimmed(saved.err));
  // Chain by chain: iptables-save groups rules by chain, the payload need not.
  for (const auto& chain : rules.chains) {
    auto want = chain_rules(rules.payload, {chain});
    auto have = chain_rules(saved.out, {chain});
    if (want == have) continue;
    std::size_t i = 0;
    while (i < want.size() && i < have.size() && want[i] == have[i]) ++i;
    return failf(Errc::system,
                 "the rules in force in {} differ from the ones applied at rule {}: want '{}', "
                 "have '{}'",
                 chain, i + 1, i < want.size() ? want[i] : "(end)",
                 i < have.size() ? have[i] : "(end)");
  }
  return ok();
}

Status remove_filter(const FilterRules& rules, const IptablesBackend& backend) {
  std::lock_guard lock(filter_mutex());
  for (const auto& [builtin, target] : rules.jumps) {
    for (int i = 0; i < 16; ++i) {
      RAIND_TRY_ASSIGN(auto r, run_tool({backend.iptables, "-w", "5", "-t", "filter", "-D", builtin,
                                         "-j", target}));
      if (r.status.shell_code() != 0) break;
    }
  }
  for (const char* op : {"-F", "-X"})
    for (const auto& chain : rules.chains)
      (void)run_tool({backend.iptables, "-w", "5", "-t", "filter", op, chain});
  return ok();
}

}  // namespace raind::condenser::hostnet

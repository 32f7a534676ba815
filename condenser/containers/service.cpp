#include "condenser/containers/service.hpp"

#include "condenser/images/reference.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>
#include <utility>

#include <fmt/ranges.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "condenser/containers/etc_files.hpp"
#include "condenser/containers/naming.hpp"
#include "condenser/hostnet/host_network.hpp"
#include "condenser/network/network_name.hpp"
#include "condenser/system/async_process.hpp"
#include "raind/atomic_file.hpp"
#include "raind/cgroups/manager.hpp"
#include "raind/crash_point.hpp"
#include "raind/log.hpp"
#include "raind/scope_exit.hpp"
#include "raind/sys/files.hpp"

namespace raind::condenser::containers {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
namespace fs = std::filesystem;

constexpr std::string_view kNetworksMetaKey = "networks";
constexpr std::string_view kVethPrefix = "rd_";

std::shared_ptr<spdlog::logger> log() {
  static auto logger = raind::logger("condenser.containers");
  return logger;
}

system::AsyncRunOptions timeout_of(int seconds) {
  system::AsyncRunOptions options;
  options.timeout = std::chrono::seconds(seconds);
  return options;
}

awaitable<void> sleep_for(std::chrono::milliseconds duration) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(duration);
  boost::system::error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// droplet's own words, minus the "droplet: " noise, for an operator-facing error.
Error runtime_error(std::string_view what, const sys::RunResult& result) {
  std::string detail = trim(result.err.empty() ? result.out : result.err);
  if (detail.empty()) detail = fmt::format("exit status {}", result.status.shell_code());
  return Error(Errc::internal, fmt::format("runtime: {}: {}", what, detail));
}

// The host's own resolvers minus loopback ones (a container cannot reach those).
std::vector<std::string> host_nameservers() {
  std::vector<std::string> out;
  std::ifstream in("/etc/resolv.conf");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    if (!(words >> key >> value) || key != "nameserver") continue;
    if (value.rfind("127.", 0) == 0 || value == "::1" || value.find(':') != std::string::npos)
      continue;
    out.push_back(value);
  }
  return out;
}

// A file from the image, read from the topmost layer that has it as a regular file.
std::optional<std::string> image_file(const std::vector<fs::path>& lowerdirs_top_first,
                                      std::string_view relative) {
  for (const auto& layer : lowerdirs_top_first) {
    struct stat st {};
    fs::path path = layer / relative;
    if (::lstat(path.c_str(), &st) != 0) continue;
    if (!S_ISREG(st.st_mode) || st.st_size > (1 << 20)) return std::nullopt;
    auto text = sys::read_file(path);
    if (text) return *text;
    return std::nullopt;
  }
  return std::nullopt;
}

// "<own cgroup>/<parent>/<id>" per hierarchy, for the OOM counter of an exited container.
std::optional<bool> cgroup_oom_killed(const std::string& parent, const std::string& id) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  std::vector<fs::path> candidates;
  while (std::getline(in, line)) {
    auto first = line.find(':');
    auto second = line.find(':', first + 1);
    if (first == std::string::npos || second == std::string::npos) continue;
    std::string controllers = line.substr(first + 1, second - first - 1);
    fs::path own = line.substr(second + 1);
    fs::path rel = own.relative_path() / parent / id;
    if (controllers.empty()) {
      candidates.push_back(fs::path("/sys/fs/cgroup") / rel / "memory.events");
      candidates.push_back(fs::path("/sys/fs/cgroup/unified") / rel / "memory.events");
    } else if (controllers.find("memory") != std::string::npos) {
      candidates.push_back(fs::path("/sys/fs/cgroup/memory") / rel / "memory.oom_control");
    }
  }
  for (const auto& file : candidates) {
    std::ifstream f(file);
    if (!f) continue;
    std::string key;
    long long value = 0;
    while (f >> key >> value)
      if (key == "oom_kill") return value > 0;
  }
  return std::nullopt;
}

int signal_number(std::string_view name) {
  static const std::pair<std::string_view, int> kSignals[] = {
      {"HUP", SIGHUP},   {"INT", SIGINT},    {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2},  {"TERM", SIGTERM}, {"STOP", SIGSTOP},
      {"CONT", SIGCONT}, {"WINCH", SIGWINCH}};
  if (name.rfind("SIG", 0) == 0) name.remove_prefix(3);
  for (const auto& [n, v] : kSignals)
    if (n == name) return v;
  int number = 0;
  auto [ptr, ec] = std::from_chars(name.data(), name.data() + name.size(), number);
  if (!name.empty() && ec == std::errc() && ptr == name.data() + name.size() && number > 0 &&
      number < 65)
    return number;
  return 0;
}

}  // namespace

class ContainerService::BusyGuard {
 public:
  BusyGuard(ContainerService& service, std::string id) : service_(service), id_(std::move(id)) {
    acquired_ = service_.busy_.insert(id_).second;
  }
  ~BusyGuard() {
    if (acquired_) service_.busy_.erase(id_);
  }
  BusyGuard(const BusyGuard&) = delete;
  BusyGuard& operator=(const BusyGuard&) = delete;
  Status check(const std::string& name) const {
    if (acquired_) return ok();
    return failf(Errc::conflict, "container '{}' is busy with another operation; try again", name);
  }

 private:
  ContainerService& service_;
  std::string id_;
  bool acquired_ = false;
};

ContainerService::ContainerService(ServiceOptions options, store::Store& store,
                                   images::ImageStore& images, network::Ipam ipam)
    : options_(std::move(options)), store_(store), images_(images), ipam_(std::move(ipam)) {}

Result<std::unique_ptr<ContainerService>> ContainerService::open(ServiceOptions options,
                                                                 store::Store& store,
                                                                 images::ImageStore& images) {
  if (options.nameservers.empty()) options.nameservers = host_nameservers();
  RAIND_TRY(sys::mkdir_p(options.bundles_dir, 0700));
  RAIND_TRY(sys::mkdir_p(options.droplet_root, 0700));
  // IPAM is rebuilt from what the store holds: an address is taken exactly when a container
  // row names it, so a crash can never leak one.
  std::vector<std::pair<std::string, network::Subnet>> networks;
  RAIND_TRY_ASSIGN(auto saved, store.meta(std::string(kNetworksMetaKey)));
  if (saved) {
    auto doc = nlohmann::json::parse(*saved, nullptr, false);
    if (!doc.is_array()) return failf(Errc::parse, "store: meta 'networks' is not a JSON array");
    for (const auto& item : doc) {
      if (!item.is_object() || !item.contains("name") || !item.contains("subnet"))
        return failf(Errc::parse, "store: meta 'networks' has a malformed entry");
      RAIND_TRY_ASSIGN(auto subnet, network::parse_subnet(item["subnet"].get<std::string>()));
      networks.emplace_back(item["name"].get<std::string>(), subnet);
    }
  }
  std::vector<network::Allocation> allocations;
  RAIND_TRY_ASSIGN(auto rows, store.list_containers());
  for (const auto& row : rows) {
    auto doc = nlohmann::json::parse(row.spec, nullptr, false);
    auto record = ContainerRecord::from_json(doc);
    if (!record || record->ip.empty()) continue;
    RAIND_TRY_ASSIGN(auto address, network::parse_ipv4(record->ip));
    allocations.push_back({record->network, record->id, address});
  }
  RAIND_TRY_ASSIGN(auto ipam, network::Ipam::rebuild(networks, allocations));
  auto service = std::unique_ptr<ContainerService>(
      new ContainerService(std::move(options), store, images, std::move(ipam)));
  RAIND_TRY(service->persist_networks());
  return service;
}

// ---------------------------------------------------------------------------------------------
// Records

Result<ContainerRecord> ContainerService::load(const std::string& id) {
  RAIND_TRY_ASSIGN(auto row, store_.find_container(id));
  if (!row) return failf(Errc::not_found, "container '{}' does not exist", id);
  auto doc = nlohmann::json::parse(row->spec, nullptr, false);
  RAIND_TRY_ASSIGN(auto record, ContainerRecord::from_json(doc));
  record.state = row->state;
  record.pid = row->pid;
  return record;
}

Status ContainerService::save(const ContainerRecord& record) {
  store::ContainerRow row;
  row.id = record.id;
  row.name = record.name;
  row.state = record.state;
  row.pid = record.pid;
  row.image_ref = record.image;
  row.spec = record.to_json().dump();
  return store_.update_container(row);
}

Result<ContainerRecord> ContainerService::resolve(const std::string& ref) {
  if (ref.empty()) return fail(Errc::invalid_argument, "container reference is empty");
  RAIND_TRY_ASSIGN(auto rows, store_.list_containers());
  const store::ContainerRow* match = nullptr;
  for (const auto& row : rows)
    if (row.id == ref || row.name == ref) return load(row.id);
  for (const auto& row : rows) {
    if (row.id.rfind(ref, 0) != 0) continue;
    if (match)
      return failf(Errc::invalid_argument, "container reference '{}' matches more than one id",
                   ref);
    match = &row;
  }
  if (!match) return failf(Errc::not_found, "container '{}' does not exist", ref);
  return load(match->id);
}

std::optional<std::string> ContainerService::spiffe_id(const std::string& id) {
  auto row = store_.find_container(id);
  if (!row || !*row) return std::nullopt;
  return (*row)->spiffe_id;
}

Result<fs::path> ContainerService::attach_socket(const std::string& ref) {
  RAIND_TRY_ASSIGN(auto record, resolve(ref));
  if (!record.tty)
    return failf(Errc::conflict,
                 "container '{}' has no terminal (created without -t); use logs and exec",
                 record.name);
  // A created container can be attached before it starts, so not a byte of output is missed.
  if (!(record.state == "created" || (record.state == "running" && !has_exited(record))))
    return failf(Errc::conflict, "container '{}' is not running", record.name);
  return runtime_dir(record.id) / "attach.sock";
}

Result<std::vector<ContainerRecord>> ContainerService::list(bool all) {
  RAIND_TRY_ASSIGN(auto rows, store_.list_containers());
  std::vector<ContainerRecord> out;
  for (const auto& row : rows) {
    auto record = load(row.id);
    if (!record) continue;  // deleted meanwhile
    if (!all && record->state == "stopped") continue;
    out.push_back(std::move(*record));
  }
  return out;
}

Result<ContainerRecord> ContainerService::inspect(const std::string& ref) {
  return resolve(ref);
}

fs::path ContainerService::bundle_dir(const std::string& id) const {
  return options_.bundles_dir / id;
}

fs::path ContainerService::runtime_dir(const std::string& id) const {
  return options_.droplet_root / id;
}

std::vector<std::string> ContainerService::droplet_argv(std::vector<std::string> args) const {
  std::vector<std::string> argv{options_.droplet.string(), "--root",
                                options_.droplet_root.string()};
  if (!options_.droplet_audit_log.empty()) {
    argv.push_back("--audit-log");
    argv.push_back(options_.droplet_audit_log.string());
  }
  argv.insert(argv.end(), std::make_move_iterator(args.begin()),
              std::make_move_iterator(args.end()));
  return argv;
}

// ---------------------------------------------------------------------------------------------
// Networks

Status ContainerService::persist_networks() {
  nlohmann::json doc = nlohmann::json::array();
  for (const auto& n : ipam_.networks())
    doc.push_back({{"name", n.name}, {"subnet", n.subnet.to_string()}});
  return store_.set_meta(std::string(kNetworksMetaKey), doc.dump());
}

Result<std::vector<NetworkView>> ContainerService::networks() {
  RAIND_TRY_ASSIGN(auto records, list(true));
  std::vector<NetworkView> out;
  for (const auto& n : ipam_.networks()) {
    NetworkView view{n.name, n.subnet.to_string(), network::format_ipv4(n.gateway), {}};
    for (const auto& r : records)
      if (r.network == n.name) view.containers.push_back(r.name);
    out.push_back(std::move(view));
  }
  return out;
}

Result<NetworkView> ContainerService::create_network(const std::string& name) {
  RAIND_TRY(network::validate_network_name(name));
  RAIND_TRY_ASSIGN(const auto* created, ipam_.create_network(name));
  NetworkView view{
      created->name, created->subnet.to_string(), network::format_ipv4(created->gateway), {}};
  if (auto s = persist_networks(); !s) {
    (void)ipam_.remove_network(name);
    return std::unexpected(s.error());
  }
  // The bridge itself appears with the first container; creating it now surfaces host
  // problems (name clash with a foreign interface) at the moment the operator asks.
  if (auto s = hostnet::ensure_bridge(view.name, created->gateway_cidr()); !s) {
    (void)ipam_.remove_network(name);
    (void)persist_networks();
    return std::unexpected(s.error().context(fmt::format("network '{}'", name)));
  }
  // A new bridge gets its DNS redirection, default-deny and north-south rules at once.
  RAIND_TRY(apply_published_ports());
  if (options_.topology_changed) RAIND_TRY(options_.topology_changed());
  return view;
}

Status ContainerService::remove_network(const std::string& name) {
  RAIND_TRY_ASSIGN(auto records, list(true));
  std::vector<std::string> users;
  for (const auto& r : records)
    if (r.network == name) users.push_back(r.name);
  if (!users.empty())
    return failf(Errc::conflict, "network '{}' is used by container(s) {}", name,
                 fmt::join(users, ", "));
  RAIND_TRY(ipam_.remove_network(name));
  RAIND_TRY(persist_networks());
  RAIND_TRY(apply_published_ports());
  if (options_.topology_changed) RAIND_TRY(options_.topology_changed());
  return hostnet::remove_bridge(name);
}

Status ContainerService::prepare_network(const ContainerRecord& record) {
  const auto* net = ipam_.find_network(record.network);
  if (!net) return failf(Errc::not_found, "network '{}' does not exist", record.network);
  RAIND_TRY(hostnet::enable_forwarding());
  return hostnet::ensure_bridge(net->name, net->gateway_cidr());
}

Status ContainerService::apply_published_ports() {
  RAIND_TRY_ASSIGN(auto rows, store_.list_containers());
  hostnet::NatInput input;
  input.runtime_subnet = ipam_.options().runtime_subnet.to_string();
  for (const auto& n : ipam_.networks()) input.bridges.push_back(n.name);
  input.dns_proxy = options_.dns_proxy;
  for (const auto& row : rows) {
    auto record = load(row.id);
    if (!record || record->state == "deleting") continue;
    for (const auto& p : record->ports)
      input.ports.push_back({record->id, record->ip, record->network, p.host_ip, p.host_port,
                             p.container_port, std::string(protocol_name(p.protocol))});
  }
  return with_context(hostnet::apply_nat(input, options_.iptables), "published ports");
}

// ---------------------------------------------------------------------------------------------
// Bundle

Status ContainerService::write_bundle(const ContainerRecord& record, const CreateRequest& request,
                                      const images::ImageRecord& image) {
  const fs::path dir = bundle_dir(record.id);
  RAIND_TRY(sys::mkdir_p(dir, 0700));
  for (const char* sub : {"rootfs", "upper", "work"}) RAIND_TRY(sys::mkdir_p(dir / sub, 0755));

  RAIND_TRY_ASSIGN(auto config_text, images_.read_blob(image.config_digest));
  RAIND_TRY_ASSIGN(auto image_config, parse_image_config_text(config_text));
  RAIND_TRY_ASSIGN(auto lowerdirs, images_.lowerdirs(image));

  ContainerRequest process = request.process;
  const std::string hostname = process.hostname.empty() ? record.id : process.hostname;
  process.hostname = hostname;
  VolumeGuard guard;
  for (const auto& p : options_.protected_paths) guard.denied_sources.push_back(p);
  RAIND_TRY_ASSIGN(process.volumes, parse_volumes(request.volumes, guard));

  RAIND_TRY(write_file_atomic(dir / "hosts", hosts_file(record.ip, hostname, {record.name}), 0644));
  RAIND_TRY(write_file_atomic(dir / "hostname", hostname_file(hostname), 0644));
  const auto* net = ipam_.find_network(record.network);
  if (!net) return failf(Errc::not_found, "network '{}' does not exist", record.network);
  std::vector<std::string> nameservers = options_.nameservers;
  if (!options_.dns_proxy.empty()) nameservers = {network::format_ipv4(net->gateway)};
  RAIND_TRY(write_file_atomic(dir / "resolv.conf", resolv_conf_file(nameservers), 0644));

  RAIND_TRY_ASSIGN(auto address, network::parse_ipv4(record.ip));

  GenerateContext context;
  context.container_id = record.id;
  context.rootfs = (dir / "rootfs").string();
  for (const auto& l : lowerdirs) context.overlay.lower_dirs.push_back(l.string());
  context.overlay.upper_dir = (dir / "upper").string();
  context.overlay.work_dir = (dir / "work").string();
  NetworkAttachment attachment;
  attachment.bridge = net->name;
  attachment.veth = record.veth;
  attachment.address = address;
  attachment.prefix = net->subnet.prefix;
  attachment.gateway = net->gateway;
  context.network = attachment;
  context.hosts_path = (dir / "hosts").string();
  context.hostname_path = (dir / "hostname").string();
  context.resolv_conf_path = (dir / "resolv.conf").string();
  context.hook = options_.hooks;
  context.security = options_.security;
  context.cgroups_path = fmt::format("{}/{}", options_.cgroup_parent, record.id);
  context.accounts.passwd = image_file(lowerdirs, "etc/passwd");
  context.accounts.group = image_file(lowerdirs, "etc/group");

  RAIND_TRY_ASSIGN(auto spec, generate_container_config(image_config, process, context));
  // The shim owns the container's stdio: logs and the exit status survive condenserd.
  spec.annotations["io.raind.tty"] = "shim";
  return write_file_atomic(dir / "config.json", container_config_json(spec).dump(2) + "\n", 0600);
}

// ---------------------------------------------------------------------------------------------
// droplet

awaitable<Status> ContainerService::runtime_create(const ContainerRecord& record) {
  auto result_argv = droplet_argv(
      std::vector<std::string>{"create", "--bundle", bundle_dir(record.id).string(), record.id});
  auto result = co_await system::run_async(std::move(result_argv), timeout_of(120));
  if (!result) co_return std::unexpected(result.error());
  if (result->status.shell_code() != 0) co_return std::unexpected(runtime_error("create", *result));
  co_return ok();
}

awaitable<Result<std::string>> ContainerService::runtime_status(const std::string& id,
                                                                std::int64_t* pid) {
  auto result_argv = droplet_argv(std::vector<std::string>{"state", id});
  auto result = co_await system::run_async(std::move(result_argv), timeout_of(30));
  if (!result) co_return std::unexpected(result.error());
  if (result->status.shell_code() != 0) {
    if (!fs::exists(runtime_dir(id))) co_return std::string("absent");
    co_return std::unexpected(runtime_error("state", *result));
  }
  auto doc = nlohmann::json::parse(result->out, nullptr, false);
  if (!doc.is_object() || !doc.contains("status"))
    co_return failf(Errc::internal, "runtime: state of '{}' is not a JSON object", id);
  if (pid) *pid = doc.value("pid", std::int64_t{0});
  co_return doc["status"].get<std::string>();
}

awaitable<Result<std::int64_t>> ContainerService::runtime_start(const ContainerRecord& record) {
  auto result_argv = droplet_argv(std::vector<std::string>{"start", record.id});
  auto result = co_await system::run_async(std::move(result_argv), timeout_of(60));
  if (!result) co_return std::unexpected(result.error());
  if (result->status.shell_code() != 0) co_return std::unexpected(runtime_error("start", *result));
  std::int64_t pid = 0;
  auto status = co_await runtime_status(record.id, &pid);
  if (!status) co_return std::unexpected(status.error());
  co_return pid;
}

awaitable<Status> ContainerService::runtime_delete(const std::string& id) {
  if (!fs::exists(runtime_dir(id))) co_return ok();
  auto result_argv = droplet_argv(std::vector<std::string>{"delete", "--force", id});
  auto result = co_await system::run_async(std::move(result_argv), timeout_of(60));
  if (!result) co_return std::unexpected(result.error());
  if (result->status.shell_code() != 0 && fs::exists(runtime_dir(id)))
    co_return std::unexpected(runtime_error("delete", *result));
  co_return ok();
}

bool ContainerService::has_exited(const ContainerRecord& record) {
  if (fs::exists(runtime_dir(record.id) / "exit.json")) return true;
  if (record.pid <= 0 || ::kill(static_cast<pid_t>(record.pid), 0) == 0 || errno != ESRCH) {
    vanished_since_.erase(record.id);
    return false;
  }
  // The shim reaps the init, drains the output and only then writes exit.json; concluding
  // from the missing pid alone would record that exit with no code (seen under load).
  constexpr auto kShimWriteGrace = std::chrono::seconds(3);
  const auto now = std::chrono::steady_clock::now();
  const auto first_seen = vanished_since_.try_emplace(record.id, now).first->second;
  return now - first_seen >= kShimWriteGrace;
}

void ContainerService::record_exit(ContainerRecord& record) {
  record.state = "stopped";
  record.finished_at = store::now_rfc3339();
  auto text = sys::read_file(runtime_dir(record.id) / "exit.json");
  if (text) {
    auto doc = nlohmann::json::parse(*text, nullptr, false);
    if (doc.is_object()) {
      int signal = doc.value("signal", 0);
      record.exit_code = signal ? 128 + signal : doc.value("exit_code", -1);
      if (doc.contains("exited_at") && doc["exited_at"].is_string())
        record.finished_at = doc["exited_at"].get<std::string>();
    }
  }
  if (!record.exit_code) record.exit_code = -1;  // gone without a trace (host reboot)
  record.oom_killed = cgroup_oom_killed(options_.cgroup_parent, record.id).value_or(false);
  record.pid = 0;
  vanished_since_.erase(record.id);
}

awaitable<void> ContainerService::wait_exit(const ContainerRecord& record,
                                            std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!has_exited(record) && std::chrono::steady_clock::now() < deadline)
    co_await sleep_for(std::chrono::milliseconds(20));
}

// ---------------------------------------------------------------------------------------------
// Lifecycle

awaitable<Result<ContainerRecord>> ContainerService::create(CreateRequest request) {
  auto found = images_.find_image(request.image);
  if (!found && found.error().code() == Errc::not_found && options_.pull_missing &&
      images::parse_reference(request.image)) {
    found = co_await options_.pull_missing(request.image);
  }
  RAIND_CO_TRY_ASSIGN(auto image, std::move(found));

  // Everything that can be refused is refused before anything exists.
  RAIND_CO_TRY_ASSIGN(auto rows, store_.list_containers());
  auto taken = [&](std::string_view name) {
    return std::any_of(rows.begin(), rows.end(), [&](const auto& r) { return r.name == name; });
  };
  std::string name;
  if (request.name) {
    RAIND_CO_TRY(validate_container_name(*request.name));
    if (taken(*request.name))
      co_return failf(Errc::already_exists, "container name '{}' is already in use", *request.name);
    name = *request.name;
  } else {
    RAIND_CO_TRY_ASSIGN(name, generate_name(taken));
  }
  if (!request.process.hostname.empty()) RAIND_CO_TRY(validate_hostname(request.process.hostname));
  for (const auto& row : rows) {
    auto other = load(row.id);
    if (!other) continue;
    for (const auto& mine : request.ports)
      for (const auto& theirs : other->ports)
        if (ports_conflict(mine, theirs))
          co_return failf(Errc::conflict, "port {} is already published by container '{}' ({})",
                          mine.to_string(), other->name, theirs.to_string());
  }
  {
    VolumeGuard guard;
    for (const auto& p : options_.protected_paths) guard.denied_sources.push_back(p);
    RAIND_CO_TRY(parse_volumes(request.volumes, guard));
  }
  const std::string network_name =
      request.network.empty() ? std::string(network::kDefaultNetworkName) : request.network;
  if (!ipam_.find_network(network_name))
    co_return failf(Errc::not_found, "network '{}' does not exist", network_name);

  ContainerRecord record;
  record.id = new_container_id();
  record.name = name;
  record.image = image.reference;
  record.image_id = image.id();
  record.state = "creating";
  record.tty = request.process.tty;
  record.network = network_name;
  record.veth = std::string(kVethPrefix) + record.id;
  record.ports = request.ports;
  record.restart = request.restart;
  record.bottle = request.bottle;
  record.created_at = store::now_rfc3339();
  {
    RAIND_CO_TRY_ASSIGN(auto config_text, images_.read_blob(image.config_digest));
    RAIND_CO_TRY_ASSIGN(auto image_config, parse_image_config_text(config_text));
    RAIND_CO_TRY_ASSIGN(record.command, container_argv(image_config, request.process));
  }
  RAIND_CO_TRY_ASSIGN(auto address, ipam_.allocate(network_name, record.id));
  record.ip = network::format_ipv4(address);

  store::ContainerRow row{record.id,
                          record.name,
                          record.state,
                          0,
                          record.image,
                          std::nullopt,
                          record.to_json().dump(),
                          record.created_at};
  if (auto s = store_.insert_container(row); !s) {
    ipam_.release(record.id);
    if (s.error().code() == Errc::already_exists)
      co_return failf(Errc::already_exists, "container name '{}' is already in use", name);
    co_return std::unexpected(s.error());
  }
  BusyGuard busy(*this, record.id);
  crash_point("create.after_insert");

  auto built = [&]() -> awaitable<Status> {
    RAIND_CO_TRY(write_bundle(record, request, image));
    crash_point("create.after_bundle");
    RAIND_CO_TRY(prepare_network(record));
    RAIND_CO_TRY(co_await runtime_create(record));
    crash_point("create.after_runtime");
    if (!record.ports.empty()) RAIND_CO_TRY(apply_published_ports());
    if (options_.topology_changed) RAIND_CO_TRY(options_.topology_changed());
    co_return ok();
  };
  if (auto s = co_await built(); !s) {
    log()->warn("create {} ({}) failed, rolling back: {}", record.id, record.name,
                s.error().what());
    if (auto r = co_await rollback(record); !r)
      log()->error("rollback of {} incomplete (reconciled at next start): {}", record.id,
                   r.error().what());
    co_return std::unexpected(s.error());
  }
  // A createRuntime hook may have recorded the SPIFFE id meanwhile: re-read, then commit.
  RAIND_CO_TRY_ASSIGN(auto fresh, load(record.id));
  fresh.state = "created";
  RAIND_CO_TRY(save(fresh));
  crash_point("create.after_commit");
  log()->info("created container {} ({}) {} on {}", fresh.id, fresh.name, fresh.ip, fresh.network);
  if (!request.start) co_return fresh;
  co_return co_await start_locked(std::move(fresh));
}

awaitable<Status> ContainerService::rollback(const ContainerRecord& record) {
  Status first = ok();
  auto keep = [&](Status s) {
    if (!s && first) first = s;
  };
  keep(co_await runtime_delete(record.id));
  keep(co_await remove_cgroup_leftovers(record.id));
  keep(hostnet::remove_link(record.veth));
  keep(sys::remove_all_xdev(bundle_dir(record.id)));
  if (!first) co_return first;  // keep the row: reconcile retries what is left
  ipam_.release(record.id);
  keep(store_.delete_container(record.id));
  if (!record.ports.empty()) keep(apply_published_ports());
  if (options_.topology_changed) keep(options_.topology_changed());
  co_return first;
}

// A runtime that died in the middle of its create leaves the init it spawned waiting in the
// container's cgroup, named by no runtime state: nothing would ever start or delete it.
awaitable<Status> ContainerService::remove_cgroup_leftovers(const std::string& id) {
  auto layout = cgroups::detect_host_layout();
  if (!layout) co_return ok();  // no cgroups on this host: the runtime made none either
  const std::string path = fmt::format("{}/{}", options_.cgroup_parent, id);
  RAIND_CO_TRY_ASSIGN(auto cgroup, cgroups::make_manager(*layout, path, id));
  for (int attempt = 0; attempt < 100; ++attempt) {
    auto pids = cgroup->pids();
    if (!pids || pids->empty()) break;  // empty, or never made
    for (pid_t pid : *pids) ::kill(pid, SIGKILL);
    co_await sleep_for(std::chrono::milliseconds(20));
  }
  co_return with_context(cgroup->destroy(), fmt::format("remove the cgroup of {}", id));
}

awaitable<Result<ContainerRecord>> ContainerService::start(std::string ref) {
  RAIND_CO_TRY_ASSIGN(auto record, resolve(ref));
  BusyGuard busy(*this, record.id);
  RAIND_CO_TRY(busy.check(record.name));
  co_return co_await start_locked(std::move(record));
}

awaitable<Result<ContainerRecord>> ContainerService::start_locked(ContainerRecord record) {
  if (record.state == "running")
    co_return failf(Errc::conflict, "container '{}' is already running", record.name);
  if (record.state != "created" && record.state != "stopped")
    co_return failf(Errc::conflict, "container '{}' is {}", record.name, record.state);
  if (record.state == "stopped") {
    // An OCI container runs once: a restart is a fresh runtime create on the same bundle (the
    // upper dir, and so the container's writes, are kept).
    RAIND_CO_TRY(co_await runtime_delete(record.id));
    RAIND_CO_TRY(prepare_network(record));
    RAIND_CO_TRY(co_await runtime_create(record));
  }
  auto pid = co_await runtime_start(record);
  if (!pid) co_return std::unexpected(pid.error());
  RAIND_CO_TRY_ASSIGN(auto fresh, load(record.id));
  fresh.state = "running";
  fresh.pid = *pid;
  fresh.started_at = store::now_rfc3339();
  fresh.finished_at.clear();
  fresh.exit_code.reset();
  fresh.oom_killed = false;
  fresh.stop_requested = false;
  RAIND_CO_TRY(save(fresh));
  log()->info("started container {} ({}) pid {}", fresh.id, fresh.name, fresh.pid);
  co_return fresh;
}

awaitable<Result<ContainerRecord>> ContainerService::stop(
    std::string ref, std::optional<std::chrono::seconds> grace) {
  RAIND_CO_TRY_ASSIGN(auto record, resolve(ref));
  BusyGuard busy(*this, record.id);
  RAIND_CO_TRY(busy.check(record.name));
  if (record.state == "stopped" || record.state == "created") co_return record;
  if (record.state != "running")
    co_return failf(Errc::conflict, "container '{}' is {}", record.name, record.state);
  record.stop_requested = true;
  RAIND_CO_TRY(save(record));
  const auto limit = grace.value_or(options_.stop_timeout);
  if (!has_exited(record)) {
    auto term_argv = droplet_argv(std::vector<std::string>{"kill", record.id, "TERM"});
    auto term = co_await system::run_async(std::move(term_argv), timeout_of(30));
    if (term && term->status.shell_code() == 0) co_await wait_exit(record, limit);
  }
  if (!has_exited(record)) {
    log()->info("container {} did not stop within {} s: SIGKILL", record.id, limit.count());
    auto killed_argv = droplet_argv(std::vector<std::string>{"kill", "--all", record.id, "KILL"});
    auto killed = co_await system::run_async(std::move(killed_argv), timeout_of(30));
    if (!killed) co_return std::unexpected(killed.error());
    co_await wait_exit(record, std::chrono::seconds(10));
    if (!has_exited(record))
      co_return failf(Errc::internal, "container '{}' survived SIGKILL", record.name);
  }
  RAIND_CO_TRY_ASSIGN(auto fresh, load(record.id));
  record_exit(fresh);
  RAIND_CO_TRY(save(fresh));
  co_return fresh;
}

awaitable<Result<ContainerRecord>> ContainerService::kill(std::string ref, std::string signal) {
  RAIND_CO_TRY_ASSIGN(auto record, resolve(ref));
  const int number = signal_number(signal.empty() ? "KILL" : signal);
  if (number == 0) co_return failf(Errc::invalid_argument, "unknown signal '{}'", signal);
  if (record.state != "running")
    co_return failf(Errc::conflict, "container '{}' is not running", record.name);
  if (number == SIGKILL || number == SIGTERM || number == SIGINT || number == SIGQUIT) {
    record.stop_requested = true;
    RAIND_CO_TRY(save(record));
  }
  auto result_argv =
      droplet_argv(std::vector<std::string>{"kill", record.id, std::to_string(number)});
  auto result = co_await system::run_async(std::move(result_argv), timeout_of(30));
  if (!result) co_return std::unexpected(result.error());
  if (result->status.shell_code() != 0) co_return std::unexpected(runtime_error("kill", *result));
  if (number == SIGKILL) co_await wait_exit(record, std::chrono::seconds(2));
  RAIND_CO_TRY_ASSIGN(auto fresh, load(record.id));
  if (fresh.state == "running" && has_exited(fresh)) {
    record_exit(fresh);
    RAIND_CO_TRY(save(fresh));
  }
  co_return fresh;
}

awaitable<Result<std::string>> ContainerService::remove(std::string ref, bool force) {
  RAIND_CO_TRY_ASSIGN(auto record, resolve(ref));
  BusyGuard busy(*this, record.id);
  RAIND_CO_TRY(busy.check(record.name));
  if (record.state == "running" && !has_exited(record) && !force)
    co_return failf(Errc::conflict,
                    "container '{}' is running; stop it first or remove it with force",
                    record.name);
  record.state = "deleting";
  RAIND_CO_TRY(save(record));
  crash_point("delete.after_mark");
  RAIND_CO_TRY(co_await finish_delete(record));
  log()->info("removed container {} ({})", record.id, record.name);
  co_return record.id;
}

awaitable<Status> ContainerService::finish_delete(const ContainerRecord& record) {
  RAIND_CO_TRY(co_await runtime_delete(record.id));
  crash_point("delete.after_runtime");
  RAIND_CO_TRY(hostnet::remove_link(record.veth));
  RAIND_CO_TRY(sys::remove_all_xdev(bundle_dir(record.id)));
  crash_point("delete.after_bundle");
  RAIND_CO_TRY(store_.delete_container(record.id));
  ipam_.release(record.id);
  vanished_since_.erase(record.id);
  if (!record.ports.empty()) RAIND_CO_TRY(apply_published_ports());
  if (options_.topology_changed) RAIND_CO_TRY(options_.topology_changed());
  co_return ok();
}

Result<std::vector<std::string>> ContainerService::exec_args(const ContainerRecord& record,
                                                             const ExecRequest& request) {
  if (request.command.empty()) return fail(Errc::invalid_argument, "exec needs a command");
  if (record.state != "running" || has_exited(record))
    return failf(Errc::conflict, "container '{}' is not running", record.name);
  std::vector<std::string> args;
  if (!request.workdir.empty()) {
    if (request.workdir.front() != '/')
      return failf(Errc::invalid_argument, "workdir '{}' must be absolute", request.workdir);
    args.insert(args.end(), {"--cwd", request.workdir});
  }
  for (const auto& e : request.env) {
    if (e.empty() || e.front() == '=' || e.find('=') == std::string::npos)
      return failf(Errc::invalid_argument, "env entry '{}' is not KEY=VALUE", e);
    args.insert(args.end(), {"--env", e});
  }
  if (!request.user.empty()) {
    auto ok_char = [](char c) { return (c >= '0' && c <= '9') || c == ':'; };
    if (!std::all_of(request.user.begin(), request.user.end(), ok_char))
      return failf(Errc::invalid_argument, "exec user '{}' must be uid[:gid]", request.user);
    args.insert(args.end(), {"--user", request.user});
  }
  args.push_back(record.id);
  args.insert(args.end(), request.command.begin(), request.command.end());
  return args;
}

awaitable<Result<ExecResult>> ContainerService::exec(std::string ref, ExecRequest request) {
  RAIND_CO_TRY_ASSIGN(auto record, resolve(ref));
  RAIND_CO_TRY_ASSIGN(auto args, exec_args(record, request));
  args.insert(args.begin(), "exec");
  auto result = co_await system::run_async(droplet_argv(std::move(args)));
  if (!result) co_return std::unexpected(result.error());
  co_return ExecResult{result->status.shell_code(), std::move(result->out), std::move(result->err)};
}

awaitable<Result<std::int64_t>> ContainerService::exec_terminal(std::string ref,
                                                                ExecRequest request) {
  RAIND_CO_TRY_ASSIGN(auto record, resolve(ref));
  RAIND_CO_TRY_ASSIGN(auto args, exec_args(record, request));
  // The session lives under its own droplet shim (exec-<pid>.sock), like the container's.
  const fs::path pid_file =
      runtime_dir(record.id) / fmt::format("exec-pending-{}.pid", new_container_id());
  args.insert(args.begin(), {"exec", "--tty", "--tty-shim", "--pid-file", pid_file.string()});
  auto result = co_await system::run_async(droplet_argv(std::move(args)), timeout_of(60));
  if (!result) co_return std::unexpected(result.error());
  auto pid_text = sys::read_file(pid_file);
  std::error_code ec;
  fs::remove(pid_file, ec);
  if (result->status.shell_code() != 0) co_return std::unexpected(runtime_error("exec", *result));
  if (!pid_text) co_return failf(Errc::internal, "runtime: exec did not report its pid");
  std::int64_t pid = 0;
  auto text = trim(*pid_text);
  auto [ptr, parse_ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (parse_ec != std::errc() || pid <= 0)
    co_return failf(Errc::internal, "runtime: exec reported pid '{}'", text);
  co_return pid;
}

Result<ExecSession> ContainerService::exec_session(const std::string& ref, std::int64_t pid) {
  RAIND_TRY_ASSIGN(auto record, resolve(ref));
  ExecSession session;
  const fs::path dir = runtime_dir(record.id);
  session.socket = dir / fmt::format("exec-{}.sock", pid);
  session.log = dir / fmt::format("exec-{}.log", pid);
  const fs::path exit_file = dir / fmt::format("exec-{}.exit.json", pid);
  if (!fs::exists(session.log) && !fs::exists(exit_file))
    return failf(Errc::not_found, "container '{}' has no exec session {}", record.name, pid);
  if (auto text = sys::read_file(exit_file)) {
    auto doc = nlohmann::json::parse(*text, nullptr, false);
    if (doc.is_object()) {
      int signal = doc.value("signal", 0);
      session.exit_code = signal ? 128 + signal : doc.value("exit_code", -1);
    }
  }
  return session;
}

awaitable<Result<ContainerRecord>> ContainerService::wait(std::string ref,
                                                          std::chrono::milliseconds limit) {
  RAIND_CO_TRY_ASSIGN(auto record, resolve(ref));
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (true) {
    RAIND_CO_TRY_ASSIGN(auto fresh, load(record.id));
    // Noticed here first, the exit is recorded now rather than at the next liveness tick.
    if (fresh.state == "running" && !busy_.count(fresh.id) && has_exited(fresh)) {
      co_await handle_exit(fresh);
      continue;
    }
    if (fresh.state == "stopped" || std::chrono::steady_clock::now() >= deadline) co_return fresh;
    if (fresh.state == "created")
      co_return failf(Errc::conflict, "container '{}' is not running", fresh.name);
    co_await sleep_for(std::chrono::milliseconds(10));
  }
}

Result<std::string> ContainerService::logs(const std::string& ref,
                                           std::optional<std::size_t> tail_lines) {
  RAIND_TRY_ASSIGN(auto record, resolve(ref));
  const fs::path log = runtime_dir(record.id) / (record.tty ? "console.log" : "init.log");
  std::string text;
  for (const auto& part : {fs::path(log.string() + ".1"), log}) {
    auto content = sys::read_file(part);
    if (content) text += *content;
  }
  if (!tail_lines) return text;
  std::size_t pos = text.size();
  if (pos > 0 && text.back() == '\n') --pos;
  std::size_t lines = 0;
  while (pos > 0 && lines < *tail_lines) {
    --pos;
    if (text[pos] == '\n') {
      ++lines;
      if (lines == *tail_lines) {
        ++pos;
        break;
      }
    }
  }
  if (*tail_lines == 0) return std::string();
  return text.substr(pos);
}

Status ContainerService::on_hook(const std::string& event, const std::string& id,
                                 std::int64_t pid) {
  RAIND_TRY_ASSIGN(auto record, load(id));
  if (event == "poststart" && record.state != "running") {
    record.state = "running";
    if (pid > 0) record.pid = pid;
    if (record.started_at.empty()) record.started_at = store::now_rfc3339();
    return save(record);
  }
  return ok();
}

// ---------------------------------------------------------------------------------------------
// Liveness and reconciliation

awaitable<void> ContainerService::handle_exit(ContainerRecord record) {
  record_exit(record);
  log()->info("container {} ({}) exited with {}{}", record.id, record.name,
              record.exit_code.value_or(-1), record.oom_killed ? " (OOM killed)" : "");
  if (auto s = save(record); !s) {
    log()->error("record exit of {}: {}", record.id, s.error().what());
    co_return;
  }
  if (record.stop_requested ||
      !should_restart(record.restart, record.exit_code.value_or(-1), record.restart_count))
    co_return;
  BusyGuard busy(*this, record.id);
  record.restart_count += 1;
  if (auto s = save(record); !s) co_return;
  log()->info("restarting {} ({}), policy {}, restart {}", record.id, record.name,
              record.restart.to_string(), record.restart_count);
  auto restarted = co_await start_locked(record);
  if (!restarted) log()->error("restart of {} failed: {}", record.id, restarted.error().what());
}

awaitable<void> ContainerService::liveness_loop() {
  while (true) {
    co_await sleep_for(options_.liveness_period);
    auto records = list(false);
    if (!records) {
      log()->error("liveness: {}", records.error().what());
      continue;
    }
    for (auto& record : *records) {
      if (record.state != "running" || busy_.count(record.id) || !has_exited(record)) continue;
      co_await handle_exit(std::move(record));
    }
  }
}

awaitable<Status> ContainerService::reconcile() {
  RAIND_CO_TRY_ASSIGN(auto rows, store_.list_containers());
  std::vector<ContainerRecord> kept;
  for (const auto& row : rows) {
    auto loaded = load(row.id);
    if (!loaded) {
      log()->error("reconcile: container {} has an unreadable record: {}", row.id,
                   loaded.error().what());
      continue;
    }
    ContainerRecord record = std::move(*loaded);
    if (record.state == "creating") {
      log()->warn("reconcile: rolling back the unfinished create of {} ({})", record.id,
                  record.name);
      if (auto s = co_await rollback(record); !s) co_return s;
      continue;
    }
    if (record.state == "deleting") {
      log()->warn("reconcile: finishing the delete of {} ({})", record.id, record.name);
      if (auto s = co_await finish_delete(record); !s) co_return s;
      continue;
    }
    std::int64_t pid = 0;
    auto status = co_await runtime_status(record.id, &pid);
    if (!status) co_return std::unexpected(status.error());
    if (*status == "running") {
      if (record.state != "running" || record.pid != pid) {
        record.state = "running";
        record.pid = pid;
        RAIND_CO_TRY(save(record));
      }
      log()->info("reconcile: adopted running container {} ({}) pid {}", record.id, record.name,
                  pid);
    } else if (*status == "created") {
      if (record.state != "created") {
        record.state = "created";
        RAIND_CO_TRY(save(record));
      }
    } else if (record.state != "stopped") {
      // Just exited: the shim may still be draining the output before it writes exit.json.
      for (int i = 0; i < 25 && fs::exists(runtime_dir(record.id)) &&
                      !fs::exists(runtime_dir(record.id) / "exit.json");
           ++i)
        co_await sleep_for(std::chrono::milliseconds(20));
      record_exit(record);
      RAIND_CO_TRY(save(record));
      log()->info("reconcile: container {} ({}) had stopped ({})", record.id, record.name,
                  record.exit_code.value_or(-1));
    }
    kept.push_back(std::move(record));
  }
  RAIND_CO_TRY(remove_orphans(kept));
  // Runtime states nobody owns (a create rolled back after droplet had finished).
  std::set<std::string> known;
  for (const auto& r : kept) known.insert(r.id);
  std::vector<std::string> stray;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.droplet_root, ec))
    if (entry.is_directory() && !known.count(entry.path().filename().string()))
      stray.push_back(entry.path().filename().string());
  for (const auto& id : stray) {
    log()->warn("reconcile: deleting orphan runtime state {}", id);
    RAIND_CO_TRY(co_await runtime_delete(id));
  }
  RAIND_CO_TRY(hostnet::enable_forwarding());
  for (const auto& n : ipam_.networks())
    RAIND_CO_TRY(hostnet::ensure_bridge(n.name, n.gateway_cidr()));
  RAIND_CO_TRY(apply_published_ports());
  co_return ok();
}

Status ContainerService::remove_orphans(const std::vector<ContainerRecord>& records) {
  std::set<std::string> known;
  for (const auto& r : records) known.insert(r.id);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(options_.bundles_dir, ec)) {
    const std::string id = entry.path().filename().string();
    if (known.count(id)) continue;
    log()->warn("reconcile: removing orphan bundle {}", entry.path().string());
    RAIND_TRY(sys::remove_all_xdev(entry.path()));
  }
  for (const auto& veth : hostnet::list_links_with_prefix(kVethPrefix)) {
    if (known.count(veth.substr(kVethPrefix.size()))) continue;
    log()->warn("reconcile: removing orphan interface {}", veth);
    RAIND_TRY(hostnet::remove_link(veth));
  }
  return ok();
}

}  // namespace raind::condenser::containers

#include "condenser/daemon/daemon.hpp"

#include <sys/auxv.h>
#include <sys/stat.h>

#include <algorithm>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "condenser/api/envelope.hpp"
#include "condenser/api/server.hpp"
#include "condenser/handlers/context.hpp"
#include "condenser/dnsproxy/proxy.hpp"
#include "condenser/flowlog/pipeline.hpp"
#include "condenser/identity/identity.hpp"
#include "condenser/metrics/service.hpp"
#include "raind/atomic_file.hpp"
#include "raind/log.hpp"
#include "raind/ulid.hpp"
#include "raind/sys/files.hpp"

namespace raind::condenser {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using asio::redirect_error;
using asio::use_awaitable;

Status make_dir(const std::filesystem::path& dir, mode_t mode) {
  RAIND_TRY(sys::mkdir_p(dir, mode));
  // mkdir honours the umask and leaves existing dirs alone: set the mode explicitly.
  if (::chmod(dir.c_str(), mode) != 0) return fail_errno("chmod " + dir.string());
  return ok();
}

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

Result<std::vector<pki::CertRecord>> current_certs(const pki::Pki& p) {
  std::vector<pki::CertRecord> out;
  for (const auto& [stem, kind] : std::vector<std::pair<std::string, std::string>>{
           {"ca", "ca"}, {"server", "server"}, {"cli", "cli"}, {"hook", "hook"}}) {
    RAIND_TRY_ASSIGN(auto text, sys::read_file(p.dir() / (stem + ".crt")));
    RAIND_TRY_ASSIGN(auto cert, ossl::read_cert_pem(text));
    out.push_back(pki::describe(cert.get(), kind));
  }
  return out;
}

// The binary hooks call back into. /proc/self/exe is unreliable under a foreign /proc (a PID
// namespace without its own mount), so the path the kernel exec'ed comes first.
std::filesystem::path self_path() {
  std::error_code ec;
  if (const char* exec_path = reinterpret_cast<const char*>(::getauxval(AT_EXECFN))) {
    auto path = std::filesystem::canonical(exec_path, ec);
    if (!ec) return path;
  }
  auto path = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::path("/usr/local/bin/condenserd") : path;
}

// Configured, else next to condenserd (build trees, /usr/local/bin), else /usr/local/bin.
Result<std::filesystem::path> locate_droplet(const std::filesystem::path& configured) {
  std::vector<std::filesystem::path> candidates;
  if (!configured.empty())
    candidates = {configured};
  else
    candidates = {self_path().parent_path() / "droplet", "/usr/local/bin/droplet",
                  "/usr/bin/droplet"};
  for (const auto& c : candidates)
    if (::access(c.c_str(), X_OK) == 0) return c;
  return failf(Errc::not_found, "the droplet runtime was not found (tried {}); set runtime.droplet",
               candidates.front().string());
}

// Configured, else installed beside the binary (<prefix>/share/raind/policies), else the source
// tree this binary was built from.
Result<std::filesystem::path> locate_policies(const std::filesystem::path& configured) {
  std::vector<std::filesystem::path> candidates;
  if (!configured.empty())
    candidates = {configured};
  else
    candidates = {self_path().parent_path().parent_path() / "share/raind/policies",
                  "/usr/local/share/raind/policies", RAIND_SOURCE_POLICIES_DIR};
  for (const auto& c : candidates)
    if (std::filesystem::exists(c / oci::kSeccompPolicyFile)) return c;
  return failf(Errc::not_found,
               "the security policies were not found (tried {}); set runtime.policies_dir",
               candidates.front().string());
}

constexpr std::string_view kDnsInterface = "raindDns";

// The daemon's loop, with io_context's protected shutdown() reachable: it destroys the coroutines
// still suspended in the loop (liveness loop, exit handlers, API sessions).
class EventLoop : public asio::io_context {
 public:
  using asio::io_context::io_context;
  void destroy_pending_work() { shutdown(); }
};

class Daemon {
 public:
  explicit Daemon(DaemonOptions options) : options_(std::move(options)) {}
  // The suspended coroutines point into the services below (a pending exit handler releases its
  // container in ContainerService on destruction), so they must go first: the io_context's own
  // destructor would only run after those members are gone.
  ~Daemon() { io_.destroy_pending_work(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  int run() {
    auto status = start();
    if (!status) {
      log_->critical("start-up failed: {}", status.error().what());
      sd_notifyf(0, "STATUS=start-up failed: %s", status.error().what().c_str());
      return 1;
    }
    io_.run();
    log_->info("condenserd stopped");
    return exit_code_;
  }

 private:
  Status start() {
    // Catch stop/reload signals from the very start: a SIGTERM during start-up is then handled
    // as a drain once the loop runs, instead of killing the process half-initialised.
    signals_.add(SIGTERM);
    signals_.add(SIGINT);
    signals_.add(SIGHUP);
    RAIND_TRY_ASSIGN(config_, load_config(options_.config_path, options_.config_missing_ok));
    LogOptions lo;
    lo.level =
        options_.log_level_override.empty() ? config_.log_level : options_.log_level_override;
    setup_logging(lo);
    log_ = logger("condenser");
    log_->info("condenserd {} starting (config {})", RAIND_VERSION, options_.config_path.string());

    RAIND_TRY(with_context(make_dir(config_.state_dir, 0700), "state dir"));
    RAIND_TRY(with_context(make_dir(config_.log_dir, 0750), "log dir"));
    RAIND_TRY(with_context(make_dir(config_.run_dir, 0755), "run dir"));

    std::vector<pki::CertRecord> generated;
    RAIND_TRY_ASSIGN(auto p, pki::Pki::ensure(config_.pki_dir, &generated));
    pki_ = std::make_unique<pki::Pki>(std::move(p));

    RAIND_TRY_ASSIGN(store_, store::Store::open(config_.db_path()));
    // Record every certificate on disk the store does not know: first start, a store that was
    // reset, or a rotation whose files were written just before a crash cut off its commit.
    RAIND_TRY_ASSIGN(auto known, store_->list_certificates(true));
    RAIND_TRY_ASSIGN(auto on_disk, current_certs(*pki_));
    std::vector<pki::CertRecord> missing;
    for (auto& cert : on_disk) {
      bool seen = std::any_of(known.begin(), known.end(),
                              [&](const auto& row) { return row.cert.serial == cert.serial; });
      if (!seen) missing.push_back(std::move(cert));
    }
    if (!missing.empty()) RAIND_TRY(store_->record_certificates(missing, true));
    (void)generated;

    node_ = hostname();
    RAIND_TRY_ASSIGN(
        audit_, api::AuditLog::open(config_.audit_path(),
                                    {config_.audit.max_bytes, config_.audit.max_files}, node_));

    ctx_ = std::make_unique<handlers::HandlerContext>(
        handlers::HandlerContext{*store_, *pki_, system::probe_host(), nullptr, nullptr, nullptr,
                                 nullptr, node_, std::chrono::steady_clock::now(), nullptr, nullptr,
                                 config_.log_dir, nullptr, nullptr, nullptr});
    {
      RAIND_TRY_ASSIGN(auto images, images::ImageStore::open(config_.state_dir / "images"));
      RAIND_TRY(with_context(images.remove_temporaries(), "image store"));
      images_ = std::make_unique<images::ImageStore>(std::move(images));
      ctx_->images = images_.get();
      registry::ImageServiceOptions options;
      options.auth_file = config_.auth_file();
      options.max_concurrent_downloads = config_.images.max_concurrent_downloads;
      options.client.insecure_registries = config_.images.insecure_registries;
      options.client.registry_mirrors = config_.images.registry_mirrors;
      options.client.certs_dir = config_.images.certs_dir;
      options.client.transport.connect_timeout = std::chrono::seconds(config_.images.timeout_s);
      options.client.transport.io_timeout = std::chrono::seconds(config_.images.timeout_s);
      options.client.user_agent = "raind/" RAIND_VERSION;
      image_service_ = std::make_unique<registry::ImageService>(*images_, std::move(options),
                                                                io_.get_executor());
      ctx_->registry = image_service_.get();
    }
    RAIND_TRY(with_context(prepare_dns_address(), "dns proxy"));
    RAIND_TRY(with_context(start_containers(), "containers"));
    RAIND_TRY(with_context(publish_identities(), "container directory"));
    RAIND_TRY(with_context(start_policies(), "policies"));
    RAIND_TRY(with_context(start_metrics(), "metrics"));
    RAIND_TRY(with_context(start_bottles(), "bottles"));
    RAIND_TRY(with_context(start_flowlog(), "flow logs"));
    RAIND_TRY(with_context(start_dns_proxy(), "dns proxy"));
    ctx_->observability = [this] { return observability_counters(); };
    ctx_->on_rotated = [this]() -> Status {
      RAIND_TRY_ASSIGN(auto tls,
                       api::make_server_tls(pki_->server_cert_path(), pki_->server_key_path(),
                                            pki_->ca_cert_path()));
      server_->set_tls(std::move(tls));
      return ok();
    };
    handlers::add_system_routes(management_, *ctx_);
    handlers::add_pki_routes(management_, ca_, *ctx_);
    handlers::add_hook_routes(hooks_, *ctx_);
    handlers::add_image_routes(management_, *ctx_);
    handlers::add_container_routes(management_, *ctx_);
    handlers::add_policy_routes(management_, *ctx_);
    handlers::add_log_routes(management_, *ctx_);
    handlers::add_bottle_routes(management_, *ctx_);

    server_ = std::make_unique<api::Server>(io_, *audit_, api::limits_from(config_.limits));
    RAIND_TRY_ASSIGN(auto tls, api::make_server_tls(pki_->server_cert_path(),
                                                    pki_->server_key_path(), pki_->ca_cert_path()));
    server_->set_tls(std::move(tls));
    nlohmann::json bound;
    RAIND_TRY_ASSIGN(bound["management"], server_->listen_tcp(api::ListenerKind::management,
                                                              config_.management, management_));
    RAIND_TRY_ASSIGN(bound["hooks"],
                     server_->listen_tcp(api::ListenerKind::hooks, config_.hooks, hooks_));
    RAIND_TRY(server_->listen_unix(api::ListenerKind::hooks, config_.hooks_socket_path(), hooks_));
    bound["hooks_socket"] = config_.hooks_socket_path().string();
    RAIND_TRY_ASSIGN(bound["ca"], server_->listen_tcp(api::ListenerKind::ca, config_.ca, ca_));
    bound["pid"] = ::getpid();
    RAIND_TRY(write_file_atomic(config_.listeners_file(), bound.dump() + "\n", 0644));
    server_->start();

    asio::co_spawn(io_, signal_loop(), asio::detached);
    asio::co_spawn(io_, containers_->liveness_loop(), asio::detached);
    if (metrics_ && config_.metrics.interval_s > 0)
      asio::co_spawn(io_, metrics_->run(std::chrono::seconds(config_.metrics.interval_s)),
                     asio::detached);
    std::uint64_t watchdog_usec = 0;
    if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0)
      asio::co_spawn(io_, watchdog_loop(std::chrono::microseconds(watchdog_usec / 2)),
                     asio::detached);
    log_->info("listening: management {}, hooks {} + {}, ca {}",
               bound["management"].get<std::string>(), bound["hooks"].get<std::string>(),
               config_.hooks_socket_path().string(), bound["ca"].get<std::string>());
    sd_notifyf(0, "READY=1\nSTATUS=serving management on %s\nMAINPID=%d",
               bound["management"].get<std::string>().c_str(), ::getpid());
    return ok();
  }

  // The DNS proxy's address on its own dummy interface, before any container can ask for it.
  Status prepare_dns_address() {
    if (!config_.dns.enabled) return ok();
    RAIND_TRY(hostnet::ensure_dummy(kDnsInterface, config_.dns.address + "/32"));
    dns_address_ = config_.dns.address;
    return ok();
  }

  // Who is behind each container address, for the flow-log enricher and the DNS proxy: a new
  // snapshot whenever a container gets or loses its address.
  Status publish_identities() {
    RAIND_TRY_ASSIGN(auto records, containers_->list(true));
    std::vector<identity::ContainerIdentity> found;
    for (const auto& r : records) {
      if (r.ip.empty() || r.state == "deleting") continue;
      found.push_back(
          {r.id, r.name, containers_->spiffe_id(r.id).value_or(""), r.veth, r.ip, "", r.bottle});
    }
    std::vector<identity::Ipv4Net> networks;
    RAIND_TRY_ASSIGN(auto nets, containers_->networks());
    for (const auto& n : nets)
      if (auto net = identity::parse_ipv4_net(n.subnet)) networks.push_back(*net);
    directory_.publish(std::move(found), std::move(networks));
    return ok();
  }

  Status start_metrics() {
    ctx_->log_dir = config_.log_dir;
    RAIND_TRY_ASSIGN(auto reader, metrics::CgroupReader::open());
    RAIND_TRY_ASSIGN(metrics_log_, JsonlWriter::open(config_.metrics_log_path(), rotation(), 0644));
    auto running = [this]() -> Result<std::vector<metrics::ContainerInfo>> {
      RAIND_TRY_ASSIGN(auto records, containers_->list(false));
      std::vector<metrics::ContainerInfo> out;
      for (const auto& r : records) {
        if (r.state != "running") continue;
        out.push_back({r.id, r.name, containers_->spiffe_id(r.id).value_or(""), r.pid, r.state});
      }
      return out;
    };
    metrics_ = std::make_unique<metrics::MetricsService>(
        std::move(reader), config_.runtime.cgroup_parent, running, metrics_log_.get());
    ctx_->metrics = metrics_.get();
    return ok();
  }

  // Bottles, with any left half-created or half-removed by a crash removed before requests.
  Status start_bottles() {
    RAIND_TRY_ASSIGN(bottles_, bottle::BottleService::open(*store_, *containers_, *policies_));
    ctx_->bottles = bottles_.get();
    asio::io_context boot;
    Status reconciled = fail(Errc::internal, "bottle reconciliation did not finish");
    asio::co_spawn(boot, bottles_->reconcile(), [&](std::exception_ptr error, Status status) {
      reconciled = error ? fail(Errc::internal, "bottle reconciliation threw") : status;
    });
    boot.run();
    return reconciled;
  }

  // NFLOG → ulogd2 → enriched raind_netflow.jsonl, in this network namespace (where the RAIND
  // chains are).
  Status start_flowlog() {
    if (!config_.flowlog.enabled) return ok();
    flowlog::PipelineOptions options;
    RAIND_TRY(flowlog::apply_source_spec(config_.flowlog.input, options));
    options.run_dir = config_.run_dir / "flowlog";
    options.log_dir = config_.log_dir;
    options.rotation = rotation();
    options.ulogd_binary = config_.flowlog.ulogd;
    options.ulogd_plugin_dir = config_.flowlog.plugin_dir;
    RAIND_TRY_ASSIGN(flowlog_,
                     flowlog::Pipeline::start(io_.get_executor(), directory_, std::move(options)));
    log_->info("flow logs: {} → {}", config_.flowlog.input, flowlog_->output_path().string());
    return ok();
  }

  // The resolver of every container (its port 53 is redirected here by RAIND-DNS).
  Status start_dns_proxy() {
    if (dns_address_.empty()) return ok();
    dnsproxy::ProxyOptions options;
    options.address = dns_address_;
    options.timeout = std::chrono::milliseconds(config_.dns.timeout_ms);
    options.cache_size = config_.dns.cache_size;
    options.directory = &directory_;
    // Configured, else the resolvers containers were given before, else the host's own (the
    // proxy runs on the host, so a loopback resolver works too).
    std::vector<std::string> upstreams = config_.dns.upstreams;
    if (upstreams.empty()) upstreams = config_.runtime.nameservers;
    if (upstreams.empty())
      upstreams =
          dnsproxy::nameservers_from_resolv_conf(sys::read_file("/etc/resolv.conf").value_or(""));
    for (const auto& u : upstreams) {
      RAIND_TRY_ASSIGN(auto parsed, dnsproxy::parse_upstream(u));
      options.upstreams.push_back(parsed);
    }
    if (options.upstreams.empty())
      log_->warn(
          "dns proxy: no upstream resolver (dns.upstreams, runtime.nameservers and "
          "/etc/resolv.conf name none): only bottle service names will resolve");
    RAIND_TRY_ASSIGN(dns_log_, JsonlWriter::open(config_.dns_log_path(), rotation(), 0644));
    options.log = dns_log_.get();
    RAIND_TRY_ASSIGN(dns_proxy_, dnsproxy::DnsProxy::start(io_.get_executor(), options));
    std::string names;
    for (const auto& u : options.upstreams) names += (names.empty() ? "" : ", ") + u.str();
    log_->info("dns proxy on {}:53, upstreams {}", dns_address_, names.empty() ? "none" : names);
    return ok();
  }

  nlohmann::json observability_counters() const {
    nlohmann::json out = nlohmann::json::object();
    if (flowlog_) {
      auto c = flowlog_->counters();
      out["netflow"] = {{"received", c.received},
                        {"written", c.written},
                        {"malformed", c.malformed},
                        {"oversized", c.oversized},
                        {"unknown_prefix", c.unknown_prefix},
                        {"dropped", c.dropped},
                        {"ulogd_restarts", c.ulogd_restarts}};
    }
    if (dns_proxy_) {
      auto c = dns_proxy_->counters();
      out["dns"] = {{"queries", c.queries},
                    {"cache_hits", c.cache_hits},
                    {"local_answers", c.local_answers},
                    {"forwarded", c.forwarded},
                    {"failures", c.failures},
                    {"malformed", c.malformed},
                    {"dropped", c.dropped},
                    {"tc_retries", c.tc_retries},
                    {"log_dropped", dns_log_ ? dns_log_->dropped() : 0}};
    }
    if (metrics_)
      out["metrics"] = {{"written", metrics_->records_written()},
                        {"dropped", metrics_log_ ? metrics_log_->dropped() : 0}};
    if (audit_) out["audit"] = {{"written", audit_->written()}, {"dropped", audit_->dropped()}};
    return out;
  }

  RotationPolicy rotation() const { return {config_.flowlog.max_bytes, config_.flowlog.max_files}; }

  // The policy engine, with the last committed revision in force before any request is served
  // (a restart re-renders it against the containers that exist now).
  Status start_policies() {
    auto environment = [this]() -> Result<policy::PolicyEnvironment> {
      policy::PolicyEnvironment env;
      RAIND_TRY_ASSIGN(auto nets, containers_->networks());
      for (const auto& n : nets) env.bridges.push_back({n.name, n.gateway});
      env.dns_proxy = dns_address_;
      RAIND_TRY_ASSIGN(auto records, containers_->list(true));
      for (const auto& r : records) {
        if (r.state == "deleting" || r.ip.empty()) continue;
        env.containers.push_back({r.id, r.name, r.ip, r.network, r.veth});
      }
      return env;
    };
    auto backend = iptables_;
    RAIND_TRY_ASSIGN(policies_, policy::PolicyService::open(
                                    *store_, environment, [backend](const hostnet::FilterRules& r) {
                                      return hostnet::apply_filter(r, backend);
                                    }));
    ctx_->policies = policies_.get();
    policies_->on_rebound(
        [this](const std::string& id, const std::string& now, const std::string& before) {
          api::AuditEvent event;
          event.started = std::chrono::system_clock::now();
          event.event_id = new_ulid();
          event.correlation_id = event.event_id;
          event.base_severity = api::Severity::medium;
          event.action = "policy.rebind";
          event.target = {{"policy_id", id}, {"containers", now}, {"previous_containers", before}};
          event.code = 200;
          event.reason = "a container name used by the policy now belongs to another container";
          audit_->write(event);
        });
    RAIND_TRY_ASSIGN(auto applied, policies_->reapply());
    log_->info("policy revision {} in force: {} rules", applied.revision, applied.rules);
    return ok();
  }

  // The container service, reconciled with the host before any request is served: a client
  // never sees a container that is half created or already gone.
  Status start_containers() {
    containers::ServiceOptions options;
    options.bundles_dir = config_.state_dir / "containers";
    options.droplet_root = config_.run_dir / "droplet";
    options.droplet_audit_log = config_.log_dir / "droplet_audit.jsonl";
    RAIND_TRY_ASSIGN(options.droplet, locate_droplet(config_.runtime.droplet));
    options.cgroup_parent = config_.runtime.cgroup_parent;
    options.nameservers = config_.runtime.nameservers;
    options.stop_timeout = std::chrono::seconds(config_.runtime.stop_timeout_s);
    RAIND_TRY_ASSIGN(iptables_, hostnet::choose_iptables_backend(config_.runtime.iptables));
    log_->info("iptables backend: {}", iptables_.iptables);
    options.iptables = iptables_;
    // Containers appearing or going change what the committed policies resolve to.
    options.topology_changed = [this]() -> Status {
      RAIND_TRY(publish_identities());
      if (!policies_) return ok();
      RAIND_TRY(policies_->reapply());
      return ok();
    };
    options.dns_proxy = dns_address_;
    options.pull_missing = [this](std::string name) -> awaitable<Result<images::ImageRecord>> {
      registry::PullRequest request;
      RAIND_CO_TRY_ASSIGN(request.reference, images::parse_reference(name));
      std::function<awaitable<void>(const nlohmann::json&)> no_progress;
      auto pulled = co_await image_service_->pull(request, no_progress);
      if (!pulled) co_return std::unexpected(std::move(pulled.error()));
      co_return pulled->record;
    };
    options.protected_paths = {config_.state_dir.string(), config_.run_dir.string(),
                               config_.log_dir.string(), config_.pki_dir.string(),
                               std::filesystem::absolute(options_.config_path).parent_path()};
    RAIND_TRY_ASSIGN(auto policies, locate_policies(config_.runtime.policies_dir));
    RAIND_TRY_ASSIGN(options.security, oci::load_security_profile(policies));
    if (!ctx_->host.apparmor && !options.security.apparmor_profile.empty()) {
      log_->warn(
          "AppArmor is not enabled on this host: containers run without the '{}' "
          "profile (seccomp, capabilities and namespaces still apply)",
          options.security.apparmor_profile);
      options.security.apparmor_profile.clear();
    }
    containers::HookCommand hook;
    hook.path = self_path();
    hook.extra_args = {"--config", std::filesystem::absolute(options_.config_path).string()};
    options.hooks = hook;
    RAIND_TRY_ASSIGN(containers_,
                     containers::ContainerService::open(std::move(options), *store_, *images_));
    ctx_->containers = containers_.get();
    ctx_->on_hook = [this](api::ApiRequest& req, std::string event,
                           const store::ContainerRow& row) -> awaitable<api::ApiResponse> {
      auto state = nlohmann::json::parse(req.body, nullptr, false);
      std::int64_t pid = state.is_object() ? state.value("pid", std::int64_t{0}) : 0;
      if (auto s = containers_->on_hook(event, row.id, pid); !s) co_return api::failure(s.error());
      co_return api::success("hook applied");
    };
    // Reconciliation runs droplet; it gets its own loop here because the main one must not
    // run before the listeners exist.
    asio::io_context boot;
    Status reconciled = fail(Errc::internal, "reconciliation did not finish");
    asio::co_spawn(boot, containers_->reconcile(), [&](std::exception_ptr error, Status status) {
      reconciled = error ? fail(Errc::internal, "reconciliation threw") : status;
    });
    boot.run();
    return reconciled;
  }

  awaitable<void> signal_loop() {
    while (true) {
      boost::system::error_code ec;
      int sig = co_await signals_.async_wait(redirect_error(use_awaitable, ec));
      if (ec) co_return;
      if (sig == SIGHUP) {
        reload();
        continue;
      }
      co_await drain();
      co_return;
    }
  }

  void reload() {
    sd_notify(0, "RELOADING=1");
    auto fresh = load_config(options_.config_path, options_.config_missing_ok);
    if (!fresh) {
      log_->error("reload: keeping the running config: {}", fresh.error().what());
    } else {
      // Paths and listen addresses need a restart; log level and limits apply now.
      if (fresh->state_dir != config_.state_dir || fresh->run_dir != config_.run_dir ||
          fresh->log_dir != config_.log_dir || fresh->pki_dir != config_.pki_dir ||
          fresh->management.str() != config_.management.str() ||
          fresh->hooks.str() != config_.hooks.str() || fresh->ca.str() != config_.ca.str() ||
          fresh->hooks_socket != config_.hooks_socket)
        log_->warn("reload: path or listen address changes take effect after a restart");
      config_.log_level = fresh->log_level;
      config_.limits = fresh->limits;
      if (options_.log_level_override.empty())
        spdlog::set_level(spdlog::level::from_str(config_.log_level));
      server_->set_limits(api::limits_from(config_.limits));
      log_->info("reloaded configuration (log level {}, limits)", config_.log_level);
    }
    sd_notify(0, "READY=1");
  }

  awaitable<void> drain() {
    sd_notify(0, "STOPPING=1");
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(config_.limits.shutdown_timeout_s);
    log_->info("stopping: draining {} connections (deadline {} s)", server_->connections(),
               config_.limits.shutdown_timeout_s);
    server_->stop();
    asio::steady_timer tick(io_);
    while (server_->connections() > 0 && std::chrono::steady_clock::now() < deadline) {
      tick.expires_after(std::chrono::milliseconds(20));
      boost::system::error_code ec;
      co_await tick.async_wait(redirect_error(use_awaitable, ec));
    }
    if (server_->connections() > 0) {
      log_->warn("drain deadline passed, closing {} connections", server_->connections());
      server_->abort_all();
    }
    std::error_code ignored;
    std::filesystem::remove(config_.listeners_file(), ignored);
    if (flowlog_) flowlog_->stop();
    if (dns_proxy_) dns_proxy_->stop();
    stopping_ = true;
    io_.stop();
  }

  awaitable<void> watchdog_loop(std::chrono::microseconds period) {
    asio::steady_timer timer(io_);
    while (!stopping_) {
      sd_notify(0, "WATCHDOG=1");
      timer.expires_after(period);
      boost::system::error_code ec;
      co_await timer.async_wait(redirect_error(use_awaitable, ec));
    }
  }

  DaemonOptions options_;
  Config config_;
  std::shared_ptr<spdlog::logger> log_ = logger("condenser");
  EventLoop io_{1};
  asio::signal_set signals_{io_};
  std::unique_ptr<pki::Pki> pki_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<api::AuditLog> audit_;
  std::unique_ptr<images::ImageStore> images_;
  std::unique_ptr<registry::ImageService> image_service_;
  std::unique_ptr<containers::ContainerService> containers_;
  std::unique_ptr<policy::PolicyService> policies_;
  identity::Directory directory_;
  std::string dns_address_;  // empty: no DNS proxy
  std::unique_ptr<JsonlWriter> metrics_log_;
  std::unique_ptr<metrics::MetricsService> metrics_;
  std::unique_ptr<bottle::BottleService> bottles_;
  std::unique_ptr<flowlog::Pipeline> flowlog_;
  std::unique_ptr<JsonlWriter> dns_log_;
  std::unique_ptr<dnsproxy::DnsProxy> dns_proxy_;
  hostnet::IptablesBackend iptables_;
  std::unique_ptr<handlers::HandlerContext> ctx_;
  api::Router management_, hooks_, ca_;
  std::unique_ptr<api::Server> server_;
  std::string node_;
  bool stopping_ = false;
  int exit_code_ = 0;
};

}  // namespace

int run_daemon(const DaemonOptions& options) {
  Daemon daemon(options);
  return daemon.run();
}

}  // namespace raind::condenser

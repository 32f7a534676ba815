#include "condenser/bottle/bottle_service.hpp"

#include <algorithm>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "condenser/bottle/env.hpp"
#include "condenser/bottle/parse.hpp"
#include "condenser/containers/port_spec.hpp"
#include "raind/crash_point.hpp"
#include "raind/log.hpp"

namespace raind::condenser::bottle {
namespace {

namespace asio = boost::asio;
using asio::awaitable;

constexpr const char* kBottlesKey = "bottles";

std::shared_ptr<spdlog::logger> log() {
  return logger("condenser.bottle");
}

std::string owner_of(const std::string& bottle) {
  return "bottle:" + bottle;
}

// The bridge of a bottle that names none: "rb-<name>" when that fits a bridge name, else a
// prefix and a hash of the whole name (two long names with one prefix must not collide).
std::string auto_network_name(const std::string& bottle) {
  if (bottle.size() <= 12) return "rb-" + bottle;
  std::uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : bottle) h = (h ^ c) * 16777619u;
  return fmt::format("rb-{}-{:06x}", bottle.substr(0, 5), h & 0xffffff);
}

}  // namespace

nlohmann::json BottleRecord::to_json() const {
  return {{"name", name},
          {"state", state},
          {"source", source},
          {"origin", origin},
          {"network", network},
          {"network_auto", network_auto},
          {"containers", containers},
          {"policy_ids", policy_ids},
          {"created_at", created_at}};
}

Result<BottleRecord> BottleRecord::from_json(const nlohmann::json& doc) {
  BottleRecord r;
  try {
    r.name = doc.at("name").get<std::string>();
    r.state = doc.value("state", "created");
    r.source = doc.value("source", "");
    r.origin = doc.value("origin", "");
    r.network = doc.value("network", "");
    r.network_auto = doc.value("network_auto", false);
    r.containers = doc.value("containers", std::map<std::string, std::string>{});
    r.policy_ids = doc.value("policy_ids", std::vector<std::string>{});
    r.created_at = doc.value("created_at", "");
  } catch (const nlohmann::json::exception& e) {
    return failf(Errc::parse, "bottle record: {}", e.what());
  }
  return r;
}

nlohmann::json BottleView::to_json() const {
  nlohmann::json services = nlohmann::json::object();
  for (const auto& s : bottle.services) {
    nlohmann::json j = s.to_json();
    if (auto it = containers.find(s.name); it != containers.end()) {
      j["container_id"] = it->second.id;
      j["state"] = it->second.state;
      j["ip"] = it->second.ip;
    }
    services[s.name] = std::move(j);
  }
  nlohmann::json policy_list = nlohmann::json::array();
  for (const auto& p : policies) policy_list.push_back(policy::to_json(p));
  return {{"name", record.name},
          {"status", status},
          {"created_at", record.created_at},
          {"network",
           record.network.empty() ? std::string(network::kDefaultNetworkName) : record.network},
          {"network_auto", record.network_auto},
          {"start_order", bottle.start_order},
          {"services", std::move(services)},
          {"policies", std::move(policy_list)}};
}

class BottleService::BusyGuard {
 public:
  static Result<BusyGuard> take(std::set<std::string>& busy, const std::string& name) {
    if (!busy.insert(name).second)
      return failf(Errc::conflict, "bottle '{}' is busy with another operation", name);
    return BusyGuard(busy, name);
  }
  BusyGuard(BusyGuard&& other) noexcept : busy_(other.busy_), name_(std::move(other.name_)) {
    other.busy_ = nullptr;
  }
  BusyGuard(const BusyGuard&) = delete;
  ~BusyGuard() {
    if (busy_) busy_->erase(name_);
  }

 private:
  BusyGuard(std::set<std::string>& busy, std::string name) : busy_(&busy), name_(std::move(name)) {}
  std::set<std::string>* busy_;
  std::string name_;
};

Result<std::unique_ptr<BottleService>> BottleService::open(store::Store& store,
                                                           containers::ContainerService& containers,
                                                           policy::PolicyService& policies) {
  std::unique_ptr<BottleService> service(new BottleService(store, containers, policies));
  RAIND_TRY(service->load_all());  // a damaged document stops start-up, loudly
  return service;
}

Result<std::map<std::string, BottleRecord>> BottleService::load_all() {
  std::map<std::string, BottleRecord> out;
  RAIND_TRY_ASSIGN(auto text, store_.meta(kBottlesKey));
  if (!text) return out;
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (!doc.is_object()) return fail(Errc::parse, "stored bottles: not a JSON object");
  for (const auto& [name, item] : doc.items()) {
    RAIND_TRY_ASSIGN(auto record, BottleRecord::from_json(item));
    out.emplace(name, std::move(record));
  }
  return out;
}

Result<BottleRecord> BottleService::load(const std::string& name) {
  RAIND_TRY_ASSIGN(auto all, load_all());
  auto it = all.find(name);
  if (it == all.end()) return failf(Errc::not_found, "bottle '{}' not found", name);
  return it->second;
}

Status BottleService::save(const BottleRecord& record) {
  RAIND_TRY_ASSIGN(auto all, load_all());
  all[record.name] = record;
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& [name, r] : all) doc[name] = r.to_json();
  return store_.set_meta(kBottlesKey, doc.dump());
}

Status BottleService::erase(const std::string& name) {
  RAIND_TRY_ASSIGN(auto all, load_all());
  all.erase(name);
  nlohmann::json doc = nlohmann::json::object();
  for (const auto& [n, r] : all) doc[n] = r.to_json();
  return store_.set_meta(kBottlesKey, doc.dump());
}

Result<BottleView> BottleService::view(const BottleRecord& record) {
  BottleView v;
  v.record = record;
  RAIND_TRY_ASSIGN(v.bottle, parse_bottle(record.source, record.origin));
  std::set<std::string> states;
  for (const auto& s : v.bottle.services) {
    auto it = record.containers.find(s.name);
    auto c = it == record.containers.end() ? containers_.inspect(s.container)
                                           : containers_.inspect(it->second);
    if (c) {
      states.insert(c->state);
      v.containers.emplace(s.name, std::move(*c));
    } else {
      states.insert("missing");
    }
  }
  if (record.state != "created")
    v.status = record.state;
  else if (states.size() == 1)
    v.status = *states.begin();
  else if (states == std::set<std::string>{"created", "stopped"})
    v.status = "stopped";
  else
    v.status = "partial";
  const std::string owner = owner_of(record.name);
  for (const auto& p : policies_.list().policies)
    if (p.policy.owner == owner) v.policies.push_back(p.policy);
  return v;
}

awaitable<Result<BottleView>> BottleService::create(std::string yaml, std::string origin) {
  if (origin.empty()) origin = "bottle.yaml";
  ParseOptions options;
  options.container_exists = [this](std::string_view name) {
    return containers_.inspect(std::string(name)).has_value();
  };
  auto parsed = parse_bottle(yaml, origin, options);
  if (!parsed) co_return std::unexpected(std::move(parsed.error()));
  const Bottle& bottle = *parsed;
  RAIND_CO_TRY_ASSIGN(auto guard, BusyGuard::take(busy_, bottle.name));
  {
    RAIND_CO_TRY_ASSIGN(auto all, load_all());
    if (all.contains(bottle.name))
      co_return failf(Errc::already_exists, "bottle '{}' already exists", bottle.name);
  }
  for (const auto& s : bottle.services)
    if (auto taken = containers_.inspect(s.container))
      co_return failf(Errc::already_exists,
                      "service '{}': the container name '{}' is taken by container {}", s.name,
                      s.container, taken->id);

  BottleRecord record;
  record.name = bottle.name;
  record.state = "creating";
  record.source = yaml;
  record.origin = origin;
  record.created_at = store::now_rfc3339();
  const bool names_network = std::any_of(bottle.services.begin(), bottle.services.end(),
                                         [](const Service& s) { return !s.network.empty(); });
  if (!names_network) {
    record.network = auto_network_name(bottle.name);
    record.network_auto = true;
  }
  RAIND_CO_TRY(save(record));
  crash_point("bottle.create.recorded");

  auto created = co_await create_parts(record, bottle);
  if (!created) {
    log()->warn("bottle {}: create failed, removing what was made: {}", bottle.name,
                created.error().what());
    auto undone = co_await tear_down(record);
    if (!undone)
      log()->error("bottle {}: rollback incomplete (retried at the next start): {}", bottle.name,
                   undone.error().what());
    co_return std::unexpected(std::move(created.error()).context("bottle " + bottle.name));
  }
  record.state = "created";
  RAIND_CO_TRY(save(record));
  log()->info("bottle {} created: {} services, {} policies", bottle.name, bottle.services.size(),
              record.policy_ids.size());
  co_return view(record);
}

awaitable<Status> BottleService::create_parts(BottleRecord& record, const Bottle& bottle) {
  if (record.network_auto) {
    RAIND_CO_TRY(containers_.create_network(record.network));
    crash_point("bottle.create.network");
  }
  for (const auto& name : bottle.start_order) {
    const Service* s = bottle.find_service(name);
    if (!s) co_return failf(Errc::internal, "service '{}' vanished from the model", name);
    DependencyAddresses addresses;
    for (const auto& dep : s->depends_on) {
      auto it = record.containers.find(dep.service);
      if (it == record.containers.end()) continue;
      RAIND_CO_TRY_ASSIGN(auto c, containers_.inspect(it->second));
      addresses.emplace(dep.service, c.ip);
    }
    containers::CreateRequest request;
    request.image = s->image;
    request.name = s->container;
    request.process.command = s->command;
    RAIND_CO_TRY_ASSIGN(request.process.env, resolve_env(*s, addresses));
    request.process.tty = s->tty;
    request.process.hostname = s->name;
    request.process.memory_bytes = s->memory_bytes;
    request.process.cpus = s->cpus;
    request.process.pids_limit = s->pids_limit;
    request.volumes = s->mounts;
    RAIND_CO_TRY_ASSIGN(request.ports,
                        with_context(containers::parse_port_specs(s->ports), "service " + name));
    request.network = s->network.empty() ? record.network : s->network;
    request.restart = s->restart;
    request.bottle = bottle.name;
    auto made = co_await containers_.create(std::move(request));
    if (!made) co_return std::unexpected(std::move(made.error()).context("service " + name));
    record.containers[name] = made->id;
    RAIND_CO_TRY(save(record));
    crash_point("bottle.create.container");
  }
  std::vector<policy::Policy> wanted;
  for (const auto& p : bottle.policies)
    wanted.push_back(p.to_policy("", "declared by bottle " + bottle.name));
  if (!wanted.empty()) {
    RAIND_CO_TRY_ASSIGN(auto installed,
                        policies_.install_owned(owner_of(bottle.name), std::move(wanted)));
    for (const auto& p : installed) record.policy_ids.push_back(p.id);
    RAIND_CO_TRY(save(record));
    crash_point("bottle.create.policies");
  }
  co_return ok();
}

awaitable<Status> BottleService::tear_down(BottleRecord record) {
  record.state = "deleting";
  RAIND_CO_TRY(save(record));
  // Every container that is the bottle's: recorded, named like its services, or labelled.
  std::vector<std::string> order;
  if (auto parsed = parse_bottle(record.source, record.origin)) order = parsed->stop_order;
  std::vector<std::string> ids;
  for (const auto& name : order) {
    auto it = record.containers.find(name);
    auto c = it != record.containers.end() ? containers_.inspect(it->second)
                                           : containers_.inspect(container_name(record.name, name));
    if (c && c->bottle == record.name) ids.push_back(c->id);
  }
  if (auto all = containers_.list(true))
    for (const auto& c : *all)
      if (c.bottle == record.name && std::find(ids.begin(), ids.end(), c.id) == ids.end())
        ids.push_back(c.id);
  Status result = ok();
  for (const auto& id : ids) {
    auto removed = co_await containers_.remove(id, true);
    if (!removed && removed.error().code() != Errc::not_found && result) {
      result = std::unexpected(std::move(removed.error()).context("remove container " + id));
    }
  }
  if (!result) co_return result;
  RAIND_CO_TRY(policies_.uninstall_owned(owner_of(record.name)));
  crash_point("bottle.remove.policies");
  if (record.network_auto) {
    auto gone = containers_.remove_network(record.network);
    if (!gone && gone.error().code() != Errc::not_found) co_return gone;
  }
  RAIND_CO_TRY(erase(record.name));
  co_return ok();
}

awaitable<Status> BottleService::wait_healthy(const Service& service, std::string container_id) {
  if (!service.healthcheck)
    co_return failf(Errc::invalid_argument, "service '{}' has no healthcheck", service.name);
  const auto& check = *service.healthcheck;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  std::string last;
  for (int attempt = 0; attempt <= check.retries; ++attempt) {
    containers::ExecRequest exec;
    exec.command = check.command;
    auto ran = co_await containers_.exec(container_id, std::move(exec));
    if (ran && ran->exit_code == 0) co_return ok();
    last = ran ? fmt::format("exit status {}: {}", ran->exit_code, ran->out + ran->err)
               : ran.error().what();
    timer.expires_after(check.interval);
    boost::system::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  while (!last.empty() && (last.back() == '\n' || last.back() == ' ')) last.pop_back();
  co_return failf(Errc::unavailable, "service '{}' did not become healthy after {} checks ({})",
                  service.name, check.retries + 1, last);
}

awaitable<Result<BottleView>> BottleService::start(std::string name) {
  RAIND_CO_TRY_ASSIGN(auto guard, BusyGuard::take(busy_, name));
  RAIND_CO_TRY_ASSIGN(auto record, load(name));
  if (record.state != "created")
    co_return failf(Errc::conflict, "bottle '{}' is {}", name, record.state);
  RAIND_CO_TRY_ASSIGN(auto bottle, parse_bottle(record.source, record.origin));
  std::set<std::string> healthy;
  for (const auto& svc_name : bottle.start_order) {
    const Service* s = bottle.find_service(svc_name);
    auto id = record.containers.find(svc_name);
    if (!s || id == record.containers.end())
      co_return failf(Errc::internal, "bottle '{}': service '{}' has no container", name, svc_name);
    for (const auto& dep : s->depends_on) {
      if (dep.condition != DependencyCondition::service_healthy || healthy.contains(dep.service))
        continue;
      const Service* d = bottle.find_service(dep.service);
      auto dep_id = record.containers.find(dep.service);
      if (!d || dep_id == record.containers.end()) continue;
      std::string dep_container = dep_id->second;
      auto ready = co_await wait_healthy(*d, dep_container);
      if (!ready) co_return std::unexpected(std::move(ready.error()).context("bottle " + name));
      healthy.insert(dep.service);
    }
    RAIND_CO_TRY_ASSIGN(auto c, containers_.inspect(id->second));
    if (c.state == "running") continue;
    auto started = co_await containers_.start(id->second);
    if (!started)
      co_return std::unexpected(std::move(started.error()).context("service " + svc_name));
    log()->info("bottle {}: started {} ({})", name, svc_name, started->id);
  }
  co_return view(record);
}

awaitable<Result<BottleView>> BottleService::stop(std::string name) {
  RAIND_CO_TRY_ASSIGN(auto guard, BusyGuard::take(busy_, name));
  RAIND_CO_TRY_ASSIGN(auto record, load(name));
  RAIND_CO_TRY_ASSIGN(auto bottle, parse_bottle(record.source, record.origin));
  for (const auto& svc_name : bottle.stop_order) {
    auto id = record.containers.find(svc_name);
    if (id == record.containers.end()) continue;
    auto c = containers_.inspect(id->second);
    if (!c || c->state != "running") continue;
    auto stopped = co_await containers_.stop(id->second, std::nullopt);
    if (!stopped)
      co_return std::unexpected(std::move(stopped.error()).context("service " + svc_name));
  }
  co_return view(record);
}

awaitable<Status> BottleService::remove(std::string name) {
  RAIND_CO_TRY_ASSIGN(auto guard, BusyGuard::take(busy_, name));
  RAIND_CO_TRY_ASSIGN(auto record, load(name));
  auto removed = co_await tear_down(record);
  if (!removed) co_return removed;
  log()->info("bottle {} removed", name);
  co_return ok();
}

Result<std::vector<BottleView>> BottleService::list() {
  RAIND_TRY_ASSIGN(auto all, load_all());
  std::vector<BottleView> out;
  for (const auto& [name, record] : all) {
    RAIND_TRY_ASSIGN(auto v, view(record));
    out.push_back(std::move(v));
  }
  return out;
}

Result<BottleView> BottleService::show(const std::string& name) {
  RAIND_TRY_ASSIGN(auto record, load(name));
  return view(record);
}

awaitable<Status> BottleService::reconcile() {
  RAIND_CO_TRY_ASSIGN(auto all, load_all());
  for (const auto& [name, record] : all) {
    if (record.state == "created") continue;
    log()->warn("bottle {} was left {} by an interrupted operation: removing it", name,
                record.state);
    auto removed = co_await tear_down(record);
    if (!removed) co_return removed;
  }
  co_return ok();
}

}  // namespace raind::condenser::bottle

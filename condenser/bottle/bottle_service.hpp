#pragma once
// Bottles in condenserd: a network, the containers in dependency order and their policies,
// created, started, stopped and removed as one. The store keeps one record per bottle, written
// *before* anything is created (state `creating`) and removed *after* everything is gone
// (`deleting`); a daemon that dies in between rolls the bottle back at its next start, so a
// bottle is either complete or gone — never orphan containers, networks or policies.
//
// Runs on the daemon's io_context like the container service; a bottle busy with one operation
// refuses a second (409).
#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "condenser/bottle/model.hpp"
#include "condenser/containers/service.hpp"
#include "condenser/policy/service.hpp"
#include "condenser/store/store.hpp"

namespace raind::condenser::bottle {

struct BottleRecord {
  std::string name;
  std::string state;   // creating | created | deleting
  std::string source;  // the YAML as given
  std::string origin;  // the file name the client sent, for messages
  std::string network;
  bool network_auto = false;
  std::map<std::string, std::string> containers;  // service -> container id
  std::vector<std::string> policy_ids;
  std::string created_at;

  nlohmann::json to_json() const;
  static Result<BottleRecord> from_json(const nlohmann::json& doc);
};

struct BottleView {
  BottleRecord record;
  Bottle bottle;
  std::string status;  // created | running | stopped | partial | creating | deleting
  std::map<std::string, containers::ContainerRecord> containers;  // by service
  std::vector<policy::Policy> policies;
  nlohmann::json to_json() const;
};

class BottleService {
 public:
  static Result<std::unique_ptr<BottleService>> open(store::Store& store,
                                                     containers::ContainerService& containers,
                                                     policy::PolicyService& policies);

  // Validates the file, then creates network, containers (not started) and policies; on any
  // failure removes what it created.
  boost::asio::awaitable<Result<BottleView>> create(std::string yaml, std::string origin);
  // In start order; a service waits for dependencies declared `service_healthy` to pass their
  // healthcheck. Already running services are left alone.
  boost::asio::awaitable<Result<BottleView>> start(std::string name);
  boost::asio::awaitable<Result<BottleView>> stop(std::string name);
  // Reverse order: containers, policies (one revision), the bottle's own network, the record.
  boost::asio::awaitable<Status> remove(std::string name);
  Result<std::vector<BottleView>> list();
  Result<BottleView> show(const std::string& name);
  // Start-up: bottles left `creating` or `deleting` by a crash are removed completely.
  boost::asio::awaitable<Status> reconcile();

 private:
  BottleService(store::Store& store, containers::ContainerService& containers,
                policy::PolicyService& policies)
      : store_(store), containers_(containers), policies_(policies) {}
  class BusyGuard;

  Result<std::map<std::string, BottleRecord>> load_all();
  Result<BottleRecord> load(const std::string& name);
  Status save(const BottleRecord& record);
  Status erase(const std::string& name);
  Result<BottleView> view(const BottleRecord& record);
  boost::asio::awaitable<Status> create_parts(BottleRecord& record, const Bottle& bottle);
  boost::asio::awaitable<Status> tear_down(BottleRecord record);
  boost::asio::awaitable<Status> wait_healthy(const Service& service, std::string container_id);

  store::Store& store_;
  containers::ContainerService& containers_;
  policy::PolicyService& policies_;
  std::set<std::string> busy_;
};

}  // namespace raind::condenser::bottle

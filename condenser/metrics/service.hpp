#pragma once
// The metrics loop: every interval, one raind_metrics.jsonl record per running container, and a
// warning in condenserd's log when a container's OOM-kill counter grows. Also answers
// `raind container stats` with fresh figures.
#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "condenser/metrics/metrics.hpp"
#include "raind/jsonl_writer.hpp"

namespace raind::condenser::metrics {

class MetricsService {
 public:
  using ListFn = std::function<Result<std::vector<ContainerInfo>>()>;

  MetricsService(CgroupReader reader, std::string cgroup_parent, ListFn running, JsonlWriter* log);

  // Samples every running container; records for the log loop or the API. `previous` holds the
  // last sample per container (updated here; gone containers are dropped).
  std::vector<nlohmann::json> sample(std::map<std::string, Sample>& previous);
  // Fresh figures for the API: CPU over the time since the caller's previous request (or the
  // last log sample when there was none).
  std::vector<nlohmann::json> snapshot();

  // Forever: a sample every `interval`, written to the log.
  boost::asio::awaitable<void> run(std::chrono::milliseconds interval);

  std::uint64_t records_written() const { return written_; }

 private:
  CgroupReader reader_;
  std::string cgroup_parent_;
  ListFn running_;
  JsonlWriter* log_;
  unsigned host_cpus_;
  std::map<std::string, Sample> log_previous_;
  std::map<std::string, Sample> api_previous_;
  std::uint64_t written_ = 0;
};

// RFC 3339 with microseconds in the host's zone: 2026-01-28T16:00:23.594406+09:00.
std::string local_timestamp(std::chrono::system_clock::time_point when);

}  // namespace raind::condenser::metrics

#include "condenser/metrics/service.hpp"

#include <unistd.h>

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "condenser/flowlog/timestamp.hpp"
#include "raind/log.hpp"

namespace raind::condenser::metrics {

std::string local_timestamp(std::chrono::system_clock::time_point when) {
  return flowlog::format_rfc3339(when, flowlog::Zone::local(), 6);
}

MetricsService::MetricsService(CgroupReader reader, std::string cgroup_parent, ListFn running,
                               JsonlWriter* log)
    : reader_(std::move(reader)),
      cgroup_parent_(std::move(cgroup_parent)),
      running_(std::move(running)),
      log_(log) {
  long cpus = ::sysconf(_SC_NPROCESSORS_ONLN);
  host_cpus_ = cpus > 0 ? static_cast<unsigned>(cpus) : 1;
}

std::vector<nlohmann::json> MetricsService::sample(std::map<std::string, Sample>& previous) {
  std::vector<nlohmann::json> out;
  auto containers = running_();
  if (!containers) {
    logger("metrics")->warn("metrics: cannot list containers: {}", containers.error().what());
    return out;
  }
  std::map<std::string, Sample> next;
  const std::string now = local_timestamp(std::chrono::system_clock::now());
  for (const auto& c : *containers) {
    auto s = reader_.read(cgroup_parent_, c.id);
    if (!s) continue;  // exited between the listing and the read
    auto before = previous.find(c.id);
    const Sample* prev = before == previous.end() ? nullptr : &before->second;
    if (prev && s->stats.memory.oom_kill > prev->stats.memory.oom_kill)
      logger("metrics")->warn("container {} ({}): the kernel OOM-killed a process ({} so far)",
                              c.name, c.id, s->stats.memory.oom_kill);
    out.push_back(render_record(c, *s, prev, host_cpus_, now));
    next.emplace(c.id, std::move(*s));
  }
  previous = std::move(next);
  return out;
}

std::vector<nlohmann::json> MetricsService::snapshot() {
  // A first request measures against the log loop's last sample.
  for (const auto& [id, s] : log_previous_) api_previous_.try_emplace(id, s);
  return sample(api_previous_);
}

boost::asio::awaitable<void> MetricsService::run(std::chrono::milliseconds interval) {
  auto executor = co_await boost::asio::this_coro::executor;
  boost::asio::steady_timer timer(executor);
  // The first sample right away: cpu_percent needs a previous one.
  for (;;) {
    for (const auto& record : sample(log_previous_)) {
      if (log_ && log_->write(record)) ++written_;
    }
    timer.expires_after(interval);
    boost::system::error_code ec;
    co_await timer.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    if (ec) co_return;
  }
}

}  // namespace raind::condenser::metrics

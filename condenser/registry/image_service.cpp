#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include "condenser/registry/image_service.hpp"

#include <deque>
#include <optional>
#include <thread>
#include <utility>  // boost 1.74 awaitable.hpp uses std::exchange without including it

#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "condenser/images/export.hpp"
#include "condenser/images/import.hpp"
#include "raind/log.hpp"

namespace raind::condenser::registry {

namespace asio = boost::asio;
using asio::awaitable;

ImageService::ImageService(images::ImageStore& store, ImageServiceOptions options,
                           asio::any_io_executor executor)
    : store_(store), options_(std::move(options)), executor_(std::move(executor)), client_([this] {
        ClientOptions client = options_.client;
        // Read on every challenge: a login takes effect for the next pull without a restart.
        client.credentials = [this](std::string_view registry) -> std::optional<Credentials> {
          std::lock_guard lock(auth_mutex_);
          auto creds = CredentialStore::load(options_.auth_file);
          if (!creds) {
            logger("condenser.registry")->warn("credentials: {}", creds.error().what());
            return std::nullopt;
          }
          return creds->find(registry);
        };
        return client;
      }()) {}

ImageService::~ImageService() {
  stopping_ = true;
  std::unique_lock lock(threads_mutex_);
  threads_cv_.wait(lock, [&] { return threads_ == 0; });
}

template <class T>
awaitable<T> ImageService::run_blocking(
    std::function<T(const std::function<void(nlohmann::json)>& publish)> work,
    std::function<awaitable<void>(const nlohmann::json&)> on_event) {
  // Shared with the thread: events and the result cross over under the mutex; the thread wakes
  // the coroutine by posting a timer cancel to the io thread, where the coroutine checks the
  // queue before every wait, so no wake-up is lost.
  struct Shared {
    explicit Shared(asio::any_io_executor ex) : wake(ex) {}
    std::mutex mutex;
    std::deque<nlohmann::json> events;
    std::optional<T> result;
    asio::steady_timer wake;
  };
  auto shared = std::make_shared<Shared>(executor_);
  {
    std::lock_guard lock(threads_mutex_);
    ++threads_;
  }
  std::thread([this, shared, work = std::move(work)] {
    auto poke = [shared] {
      asio::post(shared->wake.get_executor(), [shared] { shared->wake.cancel(); });
    };
    auto publish = [&](nlohmann::json event) {
      {
        std::lock_guard lock(shared->mutex);
        shared->events.push_back(std::move(event));
      }
      poke();
    };
    T value = work(publish);
    {
      std::lock_guard lock(shared->mutex);
      shared->result.emplace(std::move(value));
    }
    poke();
    std::lock_guard lock(threads_mutex_);
    --threads_;
    threads_cv_.notify_all();
  }).detach();

  for (;;) {
    std::deque<nlohmann::json> batch;
    bool finished = false;
    {
      std::lock_guard lock(shared->mutex);
      batch.swap(shared->events);
      finished = shared->result.has_value();
    }
    for (const auto& event : batch)
      if (on_event) co_await on_event(event);
    if (finished) {
      std::lock_guard lock(shared->mutex);
      if (shared->events.empty()) co_return std::move(*shared->result);
      continue;
    }
    shared->wake.expires_after(std::chrono::seconds(1));
    boost::system::error_code ec;
    co_await shared->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

awaitable<Result<PullResult>> ImageService::pull(
    PullRequest request, std::function<awaitable<void>(const nlohmann::json&)> on_event) {
  request.stop = &stopping_;
  if (request.max_concurrent_downloads == 0)
    request.max_concurrent_downloads = options_.max_concurrent_downloads;
  // Named objects, not temporaries, in every co_await: GCC 12 destroys some temporaries of a
  // co_await expression twice (free(): invalid pointer).
  std::function<Result<PullResult>(const std::function<void(nlohmann::json)>&)> work =
      [this, request](const std::function<void(nlohmann::json)>& publish) -> Result<PullResult> {
    std::shared_lock gc_guard(gc_mutex_);
    auto started = std::chrono::steady_clock::now();
    auto result = pull_image(store_, client_, request, publish);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - started)
                  .count();
    if (result)
      logger("condenser.registry")
          ->info("pulled {} from {} in {} ms: {} layers downloaded ({} bytes), {} present",
                 request.reference.to_string(), result->endpoint, ms, result->layers_downloaded,
                 result->bytes_downloaded, result->layers_present);
    else
      logger("condenser.registry")
          ->warn("pull of {} failed after {} ms: {}", request.reference.to_string(), ms,
                 result.error().what());
    return result;
  };
  auto result = co_await run_blocking<Result<PullResult>>(work, on_event);
  co_return result;
}

awaitable<Result<std::vector<images::ImageRecord>>> ImageService::import_archive(
    std::filesystem::path tarball, std::optional<std::string> reference) {
  using Records = Result<std::vector<images::ImageRecord>>;
  std::function<Records(const std::function<void(nlohmann::json)>&)> work =
      [this, tarball, reference](const std::function<void(nlohmann::json)>&) -> Records {
    std::shared_lock gc_guard(gc_mutex_);
    std::optional<std::string_view> name;
    if (reference) name = *reference;
    return images::import_archive(store_, tarball, name);
  };
  std::function<awaitable<void>(const nlohmann::json&)> no_events;
  auto records = co_await run_blocking<Records>(work, no_events);
  co_return records;
}

awaitable<Status> ImageService::export_images(std::vector<images::ImageRecord> records,
                                              std::filesystem::path out) {
  std::function<Status(const std::function<void(nlohmann::json)>&)> work =
      [this, records, out](const std::function<void(nlohmann::json)>&) -> Status {
    std::shared_lock gc_guard(gc_mutex_);
    return images::export_images(store_, records, out);
  };
  std::function<awaitable<void>(const nlohmann::json&)> no_events;
  auto status = co_await run_blocking<Status>(work, no_events);
  co_return status;
}

awaitable<Status> ImageService::login(std::string registry, Credentials credentials) {
  std::function<Status(const std::function<void(nlohmann::json)>&)> work =
      [this, registry, credentials](const std::function<void(nlohmann::json)>&) -> Status {
    auto endpoints = client_.endpoints(registry);
    RAIND_TRY(client_.check_login(endpoints.back(), credentials));
    std::lock_guard lock(auth_mutex_);
    RAIND_TRY_ASSIGN(auto store, CredentialStore::load(options_.auth_file));
    store.set(registry, credentials);
    return store.save(options_.auth_file);
  };
  std::function<awaitable<void>(const nlohmann::json&)> no_events;
  auto status = co_await run_blocking<Status>(work, no_events);
  co_return status;
}

Result<bool> ImageService::logout(const std::string& registry) {
  std::lock_guard lock(auth_mutex_);
  RAIND_TRY_ASSIGN(auto store, CredentialStore::load(options_.auth_file));
  bool removed = store.erase(registry);
  if (removed) RAIND_TRY(store.save(options_.auth_file));
  client_.forget_credentials();
  return removed;
}

awaitable<Result<images::ImageStore::GcStats>> ImageService::collect_garbage(
    std::vector<std::string> keep_configs) {
  std::function<Result<images::ImageStore::GcStats>(const std::function<void(nlohmann::json)>&)>
      work =
          [this, keep_configs](
              const std::function<void(nlohmann::json)>&) -> Result<images::ImageStore::GcStats> {
    std::unique_lock gc_guard(gc_mutex_);
    return store_.collect_garbage(keep_configs);
  };
  std::function<awaitable<void>(const nlohmann::json&)> no_events;
  auto stats = co_await run_blocking<Result<images::ImageStore::GcStats>>(work, no_events);
  co_return stats;
}

}  // namespace raind::condenser::registry

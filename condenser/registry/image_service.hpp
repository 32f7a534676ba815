#pragma once
// The daemon's side of registries: pulls, logins and garbage collection run on their own
// threads (a pull blocks on the network and on unpacking) while the API's io_context stays
// free. Progress events come back to the io thread, where a handler streams them to a client.
// Pulls share a lock that garbage collection takes exclusively, so a collection never deletes
// the blobs of a pull that has not registered its image yet.
#include <atomic>
#include <utility>  // before asio: boost 1.74 awaitable.hpp needs std::exchange
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include "condenser/images/store.hpp"
#include "condenser/registry/client.hpp"
#include "condenser/registry/pull.hpp"
#include "raind/error.hpp"

namespace raind::condenser::registry {

struct ImageServiceOptions {
  ClientOptions client;  // credentials is filled in by the service from auth_file
  std::filesystem::path auth_file;
  unsigned max_concurrent_downloads = 3;
};

class ImageService {
 public:
  ImageService(images::ImageStore& store, ImageServiceOptions options,
               boost::asio::any_io_executor executor);
  // Stops running pulls (at their next chunk) and waits for their threads.
  ~ImageService();
  ImageService(const ImageService&) = delete;
  ImageService& operator=(const ImageService&) = delete;

  // `on_event` runs on the io thread for each progress event, in order.
  boost::asio::awaitable<Result<PullResult>> pull(
      PullRequest request,
      std::function<boost::asio::awaitable<void>(const nlohmann::json&)> on_event);
  // `image import` / `image export` of tarballs on this host, off the io thread (and, for
  // import, under the same lock as a pull so that collection cannot remove its blobs).
  boost::asio::awaitable<Result<std::vector<images::ImageRecord>>> import_archive(
      std::filesystem::path tarball, std::optional<std::string> reference);
  boost::asio::awaitable<Status> export_images(std::vector<images::ImageRecord> records,
                                               std::filesystem::path out);
  // Checks the credentials against the registry, then stores them (docker config format).
  boost::asio::awaitable<Status> login(std::string registry, Credentials credentials);
  // True when credentials were stored for the registry.
  Result<bool> logout(const std::string& registry);
  // Removes unreferenced blobs and layers; keep_configs: images still used by containers.
  boost::asio::awaitable<Result<images::ImageStore::GcStats>> collect_garbage(
      std::vector<std::string> keep_configs);

 private:
  // Runs work on a new thread; the coroutine resumes on the io thread when it finishes.
  template <class T>
  boost::asio::awaitable<T> run_blocking(
      std::function<T(const std::function<void(nlohmann::json)>& publish)> work,
      std::function<boost::asio::awaitable<void>(const nlohmann::json&)> on_event = {});

  images::ImageStore& store_;
  ImageServiceOptions options_;
  boost::asio::any_io_executor executor_;
  std::mutex auth_mutex_;  // the credentials file: read by pulls, written by login/logout
  RegistryClient client_;
  std::shared_mutex gc_mutex_;
  std::atomic<bool> stopping_{false};
  std::mutex threads_mutex_;
  std::condition_variable threads_cv_;
  unsigned threads_ = 0;
};

}  // namespace raind::condenser::registry

#include "condenser/registry/pull.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "raind/crash_point.hpp"
#include "raind/scope_exit.hpp"

namespace raind::condenser::registry {
namespace {

using images::Descriptor;

// One download per blob digest in this process at a time: two pulls sharing a layer must not
// write the same partial file.
class DigestLocks {
 public:
  void lock(const std::string& digest) {
    std::unique_lock guard(mutex_);
    cv_.wait(guard, [&] { return !held_.contains(digest); });
    held_.insert(digest);
  }
  void unlock(const std::string& digest) {
    {
      std::lock_guard guard(mutex_);
      held_.erase(digest);
    }
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::set<std::string> held_;
};

DigestLocks& digest_locks() {
  static DigestLocks locks;
  return locks;
}

bool is_schema1(std::string_view media_type) {
  return media_type.starts_with("application/vnd.docker.distribution.manifest.v1");
}

std::string short_id(std::string_view digest) {
  return std::string(digest.substr(digest.find(':') + 1, 12));
}

}  // namespace

Result<images::Platform> parse_platform(std::string_view text) {
  images::Platform out;
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    auto slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  auto valid = [](const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
  };
  if (parts.size() == 1) parts.insert(parts.begin(), "linux");
  if (parts.size() > 3 || !std::all_of(parts.begin(), parts.end(), valid))
    return failf(Errc::invalid_argument,
                 "platform '{}' is not os/arch[/variant] (e.g. linux/arm64)", text);
  out.os = parts[0];
  out.architecture = parts[1];
  if (parts.size() == 3) out.variant = parts[2];
  return out;
}

Result<PullResult> pull_image(images::ImageStore& store, RegistryClient& client,
                              const PullRequest& request, const PullObserver& observer) {
  const auto& ref = request.reference;
  auto emit = [&](nlohmann::json event) {
    if (observer) observer(event);
  };

  // 1. The manifest, from the first endpoint that has it (mirrors before Docker Hub).
  std::optional<Endpoint> endpoint;
  std::optional<FetchedManifest> top;
  std::optional<Error> first_error;
  for (const auto& candidate : client.endpoints(ref.registry)) {
    auto fetched = client.get_manifest(candidate, ref.repository, ref.manifest_ref());
    if (fetched) {
      endpoint = candidate;
      top = std::move(*fetched);
      break;
    }
    if (!first_error || candidate.mirror == false) first_error = fetched.error();
  }
  if (!top) return std::unexpected(*first_error);

  PullResult result;
  result.endpoint = endpoint->display();
  FetchedManifest manifest = *top;
  std::string index_digest;
  if (is_schema1(top->media_type))
    return failf(Errc::unsupported, "{}: Docker schema 1 manifests are not supported",
                 ref.to_string());
  if (images::is_index_media_type(top->media_type) || images::looks_like_index(top->body)) {
    RAIND_TRY_ASSIGN(auto entries, images::parse_index_manifests(top->body));
    auto chosen = images::select_platform(entries, request.platform);
    if (!chosen) {
      std::string available;
      for (const auto& e : entries)
        if (e.platform) available += (available.empty() ? "" : ", ") + e.platform->to_string();
      return failf(Errc::not_found, "{} has no image for {} (available: {})", ref.to_string(),
                   request.platform.to_string(), available.empty() ? "none" : available);
    }
    index_digest = top->digest;
    RAIND_TRY_ASSIGN(manifest, client.get_manifest(*endpoint, ref.repository, chosen->digest));
    if (images::is_index_media_type(manifest.media_type) || images::looks_like_index(manifest.body))
      return failf(Errc::unsupported, "{}: nested indexes are not supported", ref.to_string());
  }
  if (is_schema1(manifest.media_type))
    return failf(Errc::unsupported, "{}: Docker schema 1 manifests are not supported",
                 ref.to_string());
  RAIND_TRY_ASSIGN(auto parsed, with_context(images::parse_image_manifest(manifest.body),
                                             fmt::format("manifest {}", manifest.digest)));

  // 2. The config: small, kept in memory until everything else verified.
  RAIND_TRY_ASSIGN(auto config_text, client.get_blob(*endpoint, ref.repository,
                                                     parsed.config.digest, parsed.config.size));
  RAIND_TRY_ASSIGN(auto config, with_context(images::parse_image_config(config_text),
                                             fmt::format("config {}", parsed.config.digest)));
  if (config.diff_ids.size() != parsed.layers.size())
    return failf(Errc::integrity, "{}: the manifest lists {} layers, the config {} diff-ids",
                 ref.to_string(), parsed.layers.size(), config.diff_ids.size());
  if (index_digest.empty() && request.platform_explicit &&
      !images::platform_matches(config.platform, request.platform))
    return failf(Errc::not_found, "{} is {}, not {}", ref.to_string(), config.platform.to_string(),
                 request.platform.to_string());
  emit({{"status", "resolved"},
        {"digest", manifest.digest},
        {"index_digest", index_digest},
        {"media_type", manifest.media_type},
        {"platform", config.platform.to_string()},
        {"layers", parsed.layers.size()},
        {"endpoint", endpoint->display()}});

  // 3. Layers: the unique ones, in parallel, each downloaded then unpacked by its worker.
  struct Job {
    Descriptor layer;
    std::string diff_id;
  };
  std::vector<Job> jobs;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < parsed.layers.size(); ++i) {
    if (!seen.insert(config.diff_ids[i]).second) continue;
    jobs.push_back({parsed.layers[i], config.diff_ids[i]});
    emit({{"status", "waiting"},
          {"layer", parsed.layers[i].digest},
          {"current", 0},
          {"total", parsed.layers[i].size}});
  }
  std::atomic<std::size_t> next{0};
  std::atomic<bool> cancelled{false};
  std::mutex error_mutex;
  std::optional<Error> failure;
  std::atomic<std::size_t> downloaded{0}, present{0};
  std::atomic<std::uint64_t> bytes{0};

  auto run_job = [&](const Job& job) -> Status {
    const auto& digest = job.layer.digest;
    if (store.has_layer(job.diff_id)) {
      present++;
      emit({{"status", "exists"},
            {"layer", digest},
            {"current", job.layer.size},
            {"total", job.layer.size}});
      return ok();
    }
    digest_locks().lock(digest);
    ScopeExit unlock([&] { digest_locks().unlock(digest); });
    if (!store.has_blob(digest)) {
      auto partial = store.partial_blob_path(digest);
      auto last = std::chrono::steady_clock::time_point{};
      std::uint64_t counted = 0;
      RAIND_TRY(client.download_blob(
          *endpoint, ref.repository, digest, job.layer.size, partial,
          [&](std::uint64_t written, std::uint64_t total) -> Status {
            if (request.stop && request.stop->load())
              return failf(Errc::unavailable, "the daemon is shutting down");
            bytes += written - std::min(written, counted);
            counted = written;
            // Part of the blob on disk (a resumable partial- file), the rest still to come.
            if (written < total) crash_point("pull.during_download");
            auto now = std::chrono::steady_clock::now();
            if (now - last >= std::chrono::milliseconds(100) || written == total) {
              last = now;
              emit({{"status", "downloading"},
                    {"layer", digest},
                    {"current", written},
                    {"total", total}});
            }
            return ok();
          },
          &cancelled));
      RAIND_TRY(store.adopt_blob(partial, digest));
      crash_point("pull.after_blob");
      downloaded++;
    }
    emit({{"status", "unpacking"},
          {"layer", digest},
          {"current", job.layer.size},
          {"total", job.layer.size}});
    RAIND_TRY(store.ensure_layer(job.diff_id, digest));
    emit({{"status", "done"},
          {"layer", digest},
          {"current", job.layer.size},
          {"total", job.layer.size}});
    return ok();
  };
  auto worker = [&] {
    for (;;) {
      if (cancelled.load()) return;
      std::size_t i = next++;
      if (i >= jobs.size()) return;
      auto status = run_job(jobs[i]);
      if (!status) {
        std::lock_guard guard(error_mutex);
        if (!failure)
          failure = std::move(status.error())
                        .context(fmt::format("layer {}", short_id(jobs[i].layer.digest)));
        cancelled = true;
        return;
      }
    }
  };
  unsigned workers = std::max(
      1u, std::min<unsigned>(request.max_concurrent_downloads, static_cast<unsigned>(jobs.size())));
  {
    std::vector<std::jthread> threads;
    for (unsigned i = 1; i < workers; ++i) threads.emplace_back(worker);
    worker();
  }
  if (failure) return std::unexpected(*failure);
  // Every layer unpacked, nothing recorded: no image exists until add_image below.
  crash_point("pull.after_unpack");

  // 4. Register: manifest, index and config blobs, then the record.
  RAIND_TRY(store.put_blob_bytes(manifest.body, manifest.digest));
  if (!index_digest.empty()) RAIND_TRY(store.put_blob_bytes(top->body, index_digest));
  RAIND_TRY(store.put_blob_bytes(config_text, parsed.config.digest));
  images::ImageRecord record;
  record.reference = ref.to_string();
  record.manifest_digest = manifest.digest;
  record.index_digest = index_digest;
  record.config_digest = parsed.config.digest;
  for (const auto& layer : parsed.layers) record.layer_digests.push_back(layer.digest);
  record.diff_ids = config.diff_ids;
  RAIND_TRY(store.add_image(record));
  RAIND_TRY_ASSIGN(result.record, store.find_image(record.reference));
  result.layers_downloaded = downloaded;
  result.layers_present = present;
  result.bytes_downloaded = bytes;
  return result;
}

}  // namespace raind::condenser::registry

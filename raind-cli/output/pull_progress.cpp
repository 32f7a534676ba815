#include "raind-cli/output/pull_progress.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace raind::cli {
namespace {

std::string short_digest(const std::string& digest) {
  auto colon = digest.find(':');
  return digest.substr(colon == std::string::npos ? 0 : colon + 1, 12);
}

}  // namespace

std::string human_bytes(std::uint64_t bytes) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  if (unit == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.1f} {}", value, kUnits[unit]);
}

std::string progress_bar(std::uint64_t current, std::uint64_t total, double bytes_per_second,
                         int width) {
  width = std::max(width, 3);
  int inner = width - 2;
  int filled = total == 0 ? inner
                          : static_cast<int>(static_cast<double>(inner) *
                                             static_cast<double>(std::min(current, total)) /
                                             static_cast<double>(total));
  std::string bar = "[";
  for (int i = 0; i < inner; ++i) bar += i < filled ? '=' : (i == filled ? '>' : ' ');
  bar += "]";
  std::string out = fmt::format("{} {:>9}/{:<9}", bar, human_bytes(current), human_bytes(total));
  if (bytes_per_second > 0)
    out += fmt::format(" {}/s", human_bytes(static_cast<std::uint64_t>(bytes_per_second)));
  return out;
}

std::string PullProgress::on_event(const nlohmann::json& event, Clock::time_point now) {
  if (!event.is_object()) return {};
  std::string status = event.value("status", std::string());
  if (status == "pulled" || status == "error") {
    outcome_ = event;
    return {};
  }
  if (status == "resolving")
    return terminal_ ? "" : fmt::format("resolving {}\n", event.value("reference", ""));
  if (status == "resolved") {
    return fmt::format("{}: {} ({}, {} layers)\n", event.value("platform", ""),
                       event.value("digest", ""), event.value("endpoint", ""),
                       event.value("layers", 0));
  }
  std::string digest = event.value("layer", std::string());
  if (digest.empty()) return {};
  auto [it, fresh] = layers_.try_emplace(digest);
  if (fresh) order_.push_back(digest);
  Layer& layer = it->second;
  std::string previous = layer.status;
  layer.current = event.value("current", std::uint64_t{0});
  layer.total = event.value("total", std::uint64_t{0});
  if (status == "downloading" && previous != "downloading") layer.started = now;
  if (status == "downloading") {
    auto seconds = std::chrono::duration<double>(now - layer.started).count();
    if (seconds > 0.05) layer.rate = static_cast<double>(layer.current) / seconds;
  }
  layer.status = status;
  if (terminal_) return redraw();
  // Plain output: one line per state change, never per chunk.
  if (status == previous) return {};
  if (status == "done")
    return fmt::format("{}: done ({})\n", short_digest(digest), human_bytes(layer.total));
  if (status == "exists") return fmt::format("{}: already present\n", short_digest(digest));
  if (status == "waiting") return {};
  return fmt::format("{}: {} {}\n", short_digest(digest), status, human_bytes(layer.total));
}

std::string PullProgress::redraw() {
  std::string out;
  // Back to the first bar line, then every line rewritten (cleared first).
  if (drawn_lines_ > 0) out += fmt::format("\x1b[{}A", drawn_lines_);
  for (const auto& digest : order_) {
    const Layer& layer = layers_.at(digest);
    std::string line;
    if (layer.status == "downloading")
      line = progress_bar(layer.current, layer.total, layer.rate, 32);
    else if (layer.status == "exists")
      line = "already present";
    else if (layer.status == "done")
      line = fmt::format("done ({})", human_bytes(layer.total));
    else if (layer.status == "unpacking")
      line = fmt::format("unpacking ({})", human_bytes(layer.total));
    else
      line = layer.status;
    out += fmt::format("\r\x1b[2K{}: {}\n", short_digest(digest), line);
  }
  drawn_lines_ = static_cast<int>(order_.size());
  return out;
}

}  // namespace raind::cli

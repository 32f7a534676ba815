#pragma once
// `raind image pull` progress: consumes the daemon's JSON-lines events and renders one bar per
// layer (bytes, rate) redrawn in place on a terminal, or plain status lines otherwise. The
// renderer is pure (events and a clock in, text out) so it is unit-tested without a terminal.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace raind::cli {

// "1.5 MiB", "512 B"
std::string human_bytes(std::uint64_t bytes);
// "[=====>    ]  1.0 MiB/4.0 MiB  2.0 MiB/s" for a bar `width` characters wide.
std::string progress_bar(std::uint64_t current, std::uint64_t total, double bytes_per_second,
                         int width);

class PullProgress {
 public:
  using Clock = std::chrono::steady_clock;
  explicit PullProgress(bool terminal) : terminal_(terminal) {}

  // Feeds one event; returns the text to write now (possibly empty).
  std::string on_event(const nlohmann::json& event, Clock::time_point now = Clock::now());
  // The final event, once seen: "pulled" with the image, or "error".
  const std::optional<nlohmann::json>& outcome() const { return outcome_; }

 private:
  struct Layer {
    std::string status;
    std::uint64_t current = 0, total = 0;
    Clock::time_point started{};
    double rate = 0;  // bytes/s since the download started
  };
  std::string redraw();

  bool terminal_;
  std::vector<std::string> order_;  // layers in the order they were announced
  std::map<std::string, Layer> layers_;
  int drawn_lines_ = 0;
  std::optional<nlohmann::json> outcome_;
};

}  // namespace raind::cli

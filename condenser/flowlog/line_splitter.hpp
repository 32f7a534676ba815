#pragma once
// Newline-delimited records out of a byte stream, with a hard cap on a record's length. A record
// longer than the cap is reported once and skipped up to its newline, without ever buffering
// more than the cap, so one runaway writer cannot stall or bloat the pipeline.
#include <cstddef>
#include <string>
#include <string_view>

namespace raind::condenser::flowlog {

class LineSplitter {
 public:
  explicit LineSplitter(std::size_t max_line) : max_line_(max_line) {}

  // Calls on_line(std::string_view) for every complete line (without its '\n') and
  // on_oversized() once for every line longer than max_line. Lines are handed out straight
  // from `data` when possible; the tail without a newline is kept for the next call.
  template <class OnLine, class OnOversized>
  void feed(std::string_view data, OnLine&& on_line, OnOversized&& on_oversized) {
    while (!data.empty()) {
      std::size_t nl = data.find('\n');
      std::string_view piece = data.substr(0, nl);
      if (discarding_) {
        if (nl == std::string_view::npos) return;
        discarding_ = false;
      } else if (pending_.size() + piece.size() > max_line_) {
        pending_.clear();
        on_oversized();
        if (nl == std::string_view::npos) {
          discarding_ = true;
          return;
        }
      } else if (nl == std::string_view::npos) {
        pending_.append(piece);
        return;
      } else if (pending_.empty()) {
        on_line(piece);
      } else {
        pending_.append(piece);
        on_line(std::string_view(pending_));
        pending_.clear();
      }
      data.remove_prefix(nl + 1);
    }
  }

  // Bytes of an incomplete line held back.
  std::size_t pending() const { return pending_.size(); }
  // Drops any partial line (a rotated or truncated file, a closed connection).
  void reset() {
    pending_.clear();
    discarding_ = false;
  }

 private:
  std::size_t max_line_;
  std::string pending_;
  bool discarding_ = false;
};

}  // namespace raind::condenser::flowlog

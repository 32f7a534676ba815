#pragma once
// ScopeExit runs a callable at scope end unless dismissed. RollbackStack collects undo steps of a
// multi-step operation and runs them in reverse order unless commit() is called.
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace raind {

template <class F>
class ScopeExit {
 public:
  explicit ScopeExit(F fn) noexcept(std::is_nothrow_move_constructible_v<F>) : fn_(std::move(fn)) {}
  ScopeExit(const ScopeExit&) = delete;
  ScopeExit& operator=(const ScopeExit&) = delete;
  ScopeExit(ScopeExit&& other) noexcept
      : fn_(std::move(other.fn_)), active_(std::exchange(other.active_, false)) {}
  ~ScopeExit() {
    if (active_) fn_();
  }
  void dismiss() noexcept { active_ = false; }

 private:
  F fn_;
  bool active_ = true;
};

template <class F>
ScopeExit(F) -> ScopeExit<F>;

class RollbackStack {
 public:
  RollbackStack() = default;
  RollbackStack(const RollbackStack&) = delete;
  RollbackStack& operator=(const RollbackStack&) = delete;
  ~RollbackStack() { rollback(); }

  // name describes the undo step (used for logging by callers that want it).
  void push(std::string name, std::function<void()> undo) {
    steps_.emplace_back(std::move(name), std::move(undo));
  }
  void commit() noexcept { steps_.clear(); }
  // Runs every pending undo step, newest first. Safe to call more than once.
  void rollback() noexcept {
    while (!steps_.empty()) {
      auto step = std::move(steps_.back());
      steps_.pop_back();
      try {
        step.second();
      } catch (...) {
        // An undo step must not stop the remaining ones.
      }
    }
  }
  std::size_t size() const noexcept { return steps_.size(); }

 private:
  std::vector<std::pair<std::string, std::function<void()>>> steps_;
};

}  // namespace raind

#include "condenser/dnsproxy/cache.hpp"

#include <algorithm>

namespace raind::condenser::dnsproxy {

std::optional<AnswerCache::Hit> AnswerCache::find(const std::string& key, Clock::time_point now) {
  auto it = index_.find(key);
  if (it == index_.end()) return std::nullopt;
  if (now >= it->second->expires) {
    lru_.erase(it->second);
    index_.erase(it);
    return std::nullopt;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  auto age = std::chrono::duration_cast<std::chrono::seconds>(now - it->second->stored).count();
  return Hit{&it->second->wire, &it->second->summary,
             static_cast<std::uint32_t>(std::max<long long>(age, 0))};
}

void AnswerCache::store(const std::string& key, Wire wire, std::uint32_t ttl, Clock::time_point now,
                        AnswerSummary summary) {
  if (capacity_ == 0 || ttl == 0) return;
  ttl = std::min(ttl, max_ttl_);
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  while (index_.size() >= capacity_ && !lru_.empty()) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
    ++evictions_;
  }
  lru_.push_front(
      Entry{key, std::move(wire), std::move(summary), now, now + std::chrono::seconds(ttl)});
  index_.emplace(key, lru_.begin());
}

}  // namespace raind::condenser::dnsproxy

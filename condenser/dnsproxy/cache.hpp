#pragma once
// The proxy's answer cache: at most `capacity` answers, least recently used out first, each kept
// for its own TTL (capped). Keyed by name|type|class|DO. Time is passed in, so tests control it.
#include <chrono>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>

#include "condenser/dnsproxy/message.hpp"

namespace raind::condenser::dnsproxy {

class AnswerCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit AnswerCache(std::size_t capacity, std::uint32_t max_ttl = 86400)
      : capacity_(capacity), max_ttl_(max_ttl) {}

  struct Hit {
    const Wire* wire;              // valid until the next call on the cache
    const AnswerSummary* summary;  // what the answer says (for the log)
    std::uint32_t age_seconds;     // how long it has been cached
  };
  // A live entry, or nothing (an expired one is dropped on the way).
  std::optional<Hit> find(const std::string& key, Clock::time_point now);
  // TTL 0 or a zero capacity: not stored.
  void store(const std::string& key, Wire wire, std::uint32_t ttl, Clock::time_point now,
             AnswerSummary summary = {});

  std::size_t size() const { return index_.size(); }
  std::uint64_t evictions() const { return evictions_; }

 private:
  struct Entry {
    std::string key;
    Wire wire;
    AnswerSummary summary;
    Clock::time_point stored;
    Clock::time_point expires;
  };
  std::size_t capacity_;
  std::uint32_t max_ttl_;
  std::list<Entry> lru_;  // most recent first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
  std::uint64_t evictions_ = 0;
};

}  // namespace raind::condenser::dnsproxy

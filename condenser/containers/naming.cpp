#include "condenser/containers/naming.hpp"

#include <array>
#include <mutex>
#include <random>

#include <fmt/core.h>

#include "raind/ulid.hpp"

namespace raind::condenser::containers {
namespace {

constexpr std::array<std::string_view, 50> kAdjectives = {
    "agile",  "amber",  "ancient", "bold",    "brave",  "bright", "brisk",  "calm",   "clever",
    "cold",   "cosmic", "crisp",   "curious", "daring", "deep",   "eager",  "fancy",  "fast",
    "fierce", "gentle", "golden",  "grand",   "happy",  "hidden", "humble", "icy",    "jolly",
    "keen",   "kind",   "lively",  "lucky",   "mellow", "mighty", "misty",  "noble",  "patient",
    "proud",  "quiet",  "rapid",   "silent",  "sleepy", "smooth", "solid",  "steady", "sunny",
    "swift",  "tidy",   "vivid",   "warm",    "witty"};

constexpr std::array<std::string_view, 50> kNouns = {
    "anchor",  "aurora", "badger", "beacon", "birch",   "canyon",  "cedar",   "comet",   "coral",
    "crane",   "delta",  "dune",   "ember",  "falcon",  "fern",    "fjord",   "galaxy",  "geyser",
    "glacier", "harbor", "heron",  "island", "lagoon",  "lantern", "maple",   "meadow",  "meteor",
    "nebula",  "oasis",  "orbit",  "otter",  "pebble",  "pine",    "prairie", "quartz",  "raven",
    "reef",    "ridge",  "river",  "saturn", "sparrow", "spruce",  "summit",  "thistle", "tundra",
    "valley",  "walrus", "willow", "yarrow", "zephyr"};

// Enough that a collision-heavy name space still finds a free name with overwhelming probability,
// bounded so a full one fails fast.
constexpr int kMaxNameTries = 64;

bool is_crockford_lower(char c) {
  return (c >= '0' && c <= '9') ||
         (c >= 'a' && c <= 'z' && c != 'i' && c != 'l' && c != 'o' && c != 'u');
}

constexpr std::string_view kCrockfordLower = "0123456789abcdefghjkmnpqrstvwxyz";

// The id one above `id` in base 32 (lower-case Crockford digits sort in ASCII order).
std::string next_id(std::string id) {
  for (auto it = id.rbegin(); it != id.rend(); ++it) {
    auto pos = kCrockfordLower.find(*it);
    if (pos + 1 < kCrockfordLower.size()) {
      *it = kCrockfordLower[pos + 1];
      return id;
    }
    *it = kCrockfordLower.front();
  }
  return id;  // wrapped: only after the year 10889
}

}  // namespace

Result<std::string> container_id_from_ulid(std::string_view ulid) {
  if (!is_valid_ulid(ulid)) return failf(Errc::invalid_argument, "\"{}\" is not a ULID", ulid);
  std::string id(ulid.substr(0, kContainerIdLength));
  for (char& c : id)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return id;
}

std::string new_container_id() {
  // A ULID's first 12 characters are the millisecond timestamp plus 10 random bits, and a
  // monotonic ULID source only bumps its low bits within one millisecond, so two ids made in the
  // same millisecond would be equal. Step past the last id instead: unique within the process
  // and still sorted by creation time.
  static std::mutex mutex;
  static std::string last;
  std::string id = *container_id_from_ulid(new_ulid());
  std::lock_guard lock(mutex);
  if (!last.empty() && id <= last) id = next_id(last);
  last = id;
  return id;
}

bool is_container_id(std::string_view text) {
  if (text.size() != kContainerIdLength) return false;
  for (char c : text)
    if (!is_crockford_lower(c)) return false;
  return true;
}

Status validate_container_name(std::string_view name) {
  if (name.empty()) return fail(Errc::invalid_argument, "container name is empty");
  if (name.size() > kMaxNameLength)
    return failf(Errc::invalid_argument, "container name \"{}\" is longer than {} characters", name,
                 kMaxNameLength);
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(name.front()))
    return failf(Errc::invalid_argument,
                 "container name \"{}\" must start with a letter or a digit", name);
  for (char c : name)
    if (!alnum(c) && c != '_' && c != '.' && c != '-')
      return failf(Errc::invalid_argument,
                   "container name \"{}\" contains an invalid character (allowed: a-z A-Z 0-9 _ . "
                   "-)",
                   name);
  return ok();
}

std::size_t adjective_count() {
  return kAdjectives.size();
}
std::size_t noun_count() {
  return kNouns.size();
}

std::string default_name(std::size_t adjective, std::size_t noun, unsigned number) {
  return fmt::format("{}-{}-{:04}", kAdjectives[adjective % kAdjectives.size()],
                     kNouns[noun % kNouns.size()], number % 10000);
}

Result<std::string> generate_name(const NameTaken& taken, const RandomSource& random) {
  for (int i = 0; i < kMaxNameTries; ++i) {
    // Separate statements: argument evaluation order is unspecified, and tests replay sequences.
    std::uint32_t adjective = random();
    std::uint32_t noun = random();
    std::uint32_t number = random();
    std::string name = default_name(adjective, noun, number);
    if (!taken(name)) return name;
  }
  return failf(Errc::unavailable, "no unused container name found after {} tries", kMaxNameTries);
}

Result<std::string> generate_name(const NameTaken& taken) {
  std::mt19937 engine(std::random_device{}());
  return generate_name(taken, [&engine] { return static_cast<std::uint32_t>(engine()); });
}

}  // namespace raind::condenser::containers

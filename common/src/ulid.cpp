#include "raind/ulid.hpp"

#include <sys/random.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <mutex>

namespace raind {
namespace {

// __extension__ keeps -Wpedantic quiet about the GCC 128-bit integer.
__extension__ typedef unsigned __int128 Uint128;

constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

int decode_char(char c) {
  c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (int i = 0; i < 32; ++i)
    if (kAlphabet[i] == c) return i;
  return -1;
}

std::uint64_t now_ms() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count());
}

void fill_random(void* buffer, std::size_t size) {
  auto* p = static_cast<unsigned char*>(buffer);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = getrandom(p + done, size - done, 0);
    if (n > 0) done += static_cast<std::size_t>(n);
  }
}

// Last generated value, so ids made within one millisecond still sort in creation order.
struct MonotonicState {
  std::mutex mutex;
  std::uint64_t last_ms = 0;
  std::uint16_t hi = 0;
  std::uint64_t lo = 0;
};

MonotonicState& state() {
  static MonotonicState s;
  return s;
}

}  // namespace

std::string encode_ulid(std::uint64_t unix_ms, std::uint16_t random_hi, std::uint64_t random_lo) {
  // 128 bits: 48 time | 16 random_hi | 64 random_lo, written as 26 base32 digits (130 bits, the
  // top two always zero).
  std::string out(26, '0');
  Uint128 value = (static_cast<Uint128>(unix_ms & 0xFFFFFFFFFFFFull) << 80) |
                  (static_cast<Uint128>(random_hi) << 64) | random_lo;
  for (int i = 25; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kAlphabet[static_cast<unsigned>(value & 31)];
    value >>= 5;
  }
  return out;
}

bool is_valid_ulid(std::string_view text) {
  if (text.size() != 26) return false;
  if (decode_char(text[0]) > 7) return false;  // would overflow 128 bits
  return std::all_of(text.begin(), text.end(), [](char c) { return decode_char(c) >= 0; });
}

std::string new_ulid() {
  auto& s = state();
  std::lock_guard lock(s.mutex);
  std::uint64_t ms = now_ms();
  if (ms > s.last_ms) {
    s.last_ms = ms;
    fill_random(&s.hi, sizeof(s.hi));
    fill_random(&s.lo, sizeof(s.lo));
  } else {
    // Same (or earlier, if the clock stepped back) millisecond: increment the randomness.
    if (++s.lo == 0) ++s.hi;
  }
  return encode_ulid(s.last_ms, s.hi, s.lo);
}

std::string new_container_id() {
  std::string id = new_ulid().substr(0, 12);
  std::transform(id.begin(), id.end(), id.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return id;
}

std::string new_policy_id() {
  return new_ulid();
}

}  // namespace raind

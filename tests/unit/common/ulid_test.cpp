#include "raind/ulid.hpp"

#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

namespace raind {
namespace {

TEST(Ulid, KnownEncodings) {
  EXPECT_EQ(encode_ulid(0, 0, 0), "00000000000000000000000000");
  // 48-bit time of all ones is "7ZZZZZZZZZ"; all-ones randomness is sixteen Z.
  EXPECT_EQ(encode_ulid(0xFFFFFFFFFFFFull, 0xFFFF, ~std::uint64_t{0}),
            "7ZZZZZZZZZZZZZZZZZZZZZZZZZ");
  // Time 1 ms sets the lowest time bit: the 10th character (bits 80..84 of 130).
  EXPECT_EQ(encode_ulid(1, 0, 0).substr(0, 10), "0000000001");
  // Crockford alphabet: no I, L, O, U.
  EXPECT_EQ(encode_ulid(0, 0, 31), "0000000000000000000000000Z");
  EXPECT_EQ(encode_ulid(0, 0, 18), "0000000000000000000000000J");
}

TEST(Ulid, Validation) {
  EXPECT_TRUE(is_valid_ulid(new_ulid()));
  EXPECT_TRUE(is_valid_ulid("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
  EXPECT_FALSE(is_valid_ulid("01ARZ3NDEKTSV4RRFFQ69G5FA"));   // 25 chars
  EXPECT_FALSE(is_valid_ulid("01ARZ3NDEKTSV4RRFFQ69G5FAU"));  // U is not in the alphabet
  EXPECT_FALSE(is_valid_ulid("81ARZ3NDEKTSV4RRFFQ69G5FAV"));  // overflows 128 bits
}

TEST(Ulid, MonotonicWithinAProcess) {
  std::string previous = new_ulid();
  for (int i = 0; i < 100000; ++i) {
    std::string next = new_ulid();
    ASSERT_LT(previous, next) << "at iteration " << i;
    previous = std::move(next);
  }
}

TEST(Ulid, UniqueAcrossThreads) {
  std::set<std::string> seen;
  std::mutex m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      std::vector<std::string> local;
      for (int i = 0; i < 5000; ++i) local.push_back(new_ulid());
      std::lock_guard lock(m);
      seen.insert(local.begin(), local.end());
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(seen.size(), 40000u);
}

TEST(Ulid, ContainerAndPolicyIds) {
  std::string cid = new_container_id();
  EXPECT_EQ(cid.size(), 12u);
  for (char c : cid) EXPECT_TRUE(std::islower(c) || std::isdigit(c)) << cid;
  EXPECT_EQ(new_policy_id().size(), 26u);
}

}  // namespace
}  // namespace raind

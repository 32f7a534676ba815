// Ctrl-P Ctrl-Q detaches; a lone Ctrl-P reaches the container with the byte after it.
#include <gtest/gtest.h>

#include "raind-cli/client/detach_keys.hpp"

using raind::cli::DetachKeys;

TEST(DetachKeys, ForwardsOrdinaryInput) {
  DetachKeys keys;
  auto r = keys.feed("echo hi\r");
  EXPECT_EQ(r.forward, "echo hi\r");
  EXPECT_FALSE(r.detached);
}

TEST(DetachKeys, CtrlPCtrlQDetachesAndDropsTheRest) {
  DetachKeys keys;
  auto r =
      keys.feed(std::string("ab\x10\x11"
                            "cd"));
  EXPECT_EQ(r.forward, "ab");
  EXPECT_TRUE(r.detached);
}

TEST(DetachKeys, SequenceMaySpanReads) {
  DetachKeys keys;
  auto first = keys.feed("x\x10");
  EXPECT_EQ(first.forward, "x");
  EXPECT_FALSE(first.detached);
  auto second = keys.feed("\x11");
  EXPECT_TRUE(second.detached);
  EXPECT_EQ(second.forward, "");
}

TEST(DetachKeys, LoneCtrlPIsForwardedWithTheNextByte) {
  DetachKeys keys;
  auto r = keys.feed("\x10p");
  EXPECT_EQ(r.forward, "\x10p");
  EXPECT_FALSE(r.detached);
  auto twice = keys.feed("\x10\x10\x11");
  EXPECT_EQ(twice.forward, "\x10");
  EXPECT_TRUE(twice.detached);
}

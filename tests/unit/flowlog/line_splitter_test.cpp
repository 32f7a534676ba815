#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "condenser/flowlog/line_splitter.hpp"

namespace fl = raind::condenser::flowlog;

namespace {

struct Sink {
  std::vector<std::string> lines;
  int oversized = 0;
  void feed(fl::LineSplitter& s, std::string_view data) {
    s.feed(
        data, [&](std::string_view l) { lines.emplace_back(l); }, [&] { ++oversized; });
  }
};

}  // namespace

TEST(LineSplitter, SplitsAcrossChunks) {
  fl::LineSplitter s(16);
  Sink sink;
  sink.feed(s, "ab\ncd");
  EXPECT_EQ(s.pending(), 2u);
  sink.feed(s, "ef\n\ngh\n");
  sink.feed(s, "i");
  sink.feed(s, "j");
  sink.feed(s, "\n");
  EXPECT_EQ(sink.lines, (std::vector<std::string>{"ab", "cdef", "", "gh", "ij"}));
  EXPECT_EQ(s.pending(), 0u);
  EXPECT_EQ(sink.oversized, 0);
}

TEST(LineSplitter, OversizedLinesAreSkippedOnceWithoutBuffering) {
  fl::LineSplitter s(4);
  Sink sink;
  sink.feed(s, "1234\n12345\nok\n");
  EXPECT_EQ(sink.lines, (std::vector<std::string>{"1234", "ok"}));
  EXPECT_EQ(sink.oversized, 1);
  // A runaway line over many chunks: one report, nothing held, recovery at its newline.
  sink.feed(s, "xx");
  sink.feed(s, "xxx");
  EXPECT_EQ(sink.oversized, 2);
  EXPECT_EQ(s.pending(), 0u);
  for (int i = 0; i < 1000; ++i) sink.feed(s, std::string(4096, 'y'));
  EXPECT_EQ(sink.oversized, 2);
  EXPECT_EQ(s.pending(), 0u);
  sink.feed(s, "yyy\nnext\n");
  EXPECT_EQ(sink.lines.back(), "next");
  EXPECT_EQ(sink.oversized, 2);
}

TEST(LineSplitter, ResetDropsThePartialLine) {
  fl::LineSplitter s(8);
  Sink sink;
  sink.feed(s, "part");
  s.reset();
  sink.feed(s, "whole\n");
  EXPECT_EQ(sink.lines, (std::vector<std::string>{"whole"}));
  sink.feed(s, "0123456789");  // discarding
  s.reset();
  sink.feed(s, "a\n");
  EXPECT_EQ(sink.lines.back(), "a");
}

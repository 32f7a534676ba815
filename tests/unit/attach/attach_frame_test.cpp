// The attach framing: round trips, arbitrary splits, and malformed streams.
#include <gtest/gtest.h>

#include "raind/attach_frame.hpp"

namespace raind::attach {
namespace {

std::vector<Frame> drain(FrameDecoder& d) {
  std::vector<Frame> out;
  for (;;) {
    auto f = d.next();
    EXPECT_TRUE(f) << f.error().what();
    if (!f || !*f) return out;
    out.push_back(std::move(**f));
  }
}

TEST(AttachFrame, EncodesHeaderBigEndian) {
  auto f = encode_data("hi");
  ASSERT_EQ(f.size(), 7u);
  EXPECT_EQ(f[0], '\x00');
  EXPECT_EQ(f.substr(1, 4), std::string("\x00\x00\x00\x02", 4));
  EXPECT_EQ(f.substr(5), "hi");
  auto r = encode_resize(0x0102, 0x0304);
  EXPECT_EQ(r, std::string("\x01\x00\x00\x00\x04\x01\x02\x03\x04", 9));
}

TEST(AttachFrame, DecodesByteByByte) {
  std::string stream = encode_data("echo hello\n") + encode_resize(40, 100) + encode_data("") +
                       encode_data(std::string(70000, 'x'));
  FrameDecoder d;
  std::vector<Frame> frames;
  for (char c : stream) {
    d.feed(std::string_view(&c, 1));
    for (auto& f : drain(d)) frames.push_back(std::move(f));
  }
  ASSERT_EQ(frames.size(), 4u);
  EXPECT_EQ(frames[0].type, FrameType::data);
  EXPECT_EQ(frames[0].payload, "echo hello\n");
  EXPECT_EQ(frames[1].type, FrameType::resize);
  EXPECT_EQ(frames[1].rows, 40);
  EXPECT_EQ(frames[1].cols, 100);
  EXPECT_EQ(frames[2].payload, "");
  EXPECT_EQ(frames[3].payload.size(), 70000u);
}

TEST(AttachFrame, DecodesManyFramesFromOneRead) {
  std::string stream;
  for (int i = 0; i < 100; ++i) stream += encode_data(std::to_string(i));
  FrameDecoder d;
  d.feed(stream);
  auto frames = drain(d);
  ASSERT_EQ(frames.size(), 100u);
  EXPECT_EQ(frames[99].payload, "99");
}

TEST(AttachFrame, RejectsUnknownTypeOversizeAndBadResize) {
  {
    FrameDecoder d;
    d.feed(std::string("\x07\x00\x00\x00\x00", 5));
    auto f = d.next();
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().what().find("unknown type 0x07"), std::string::npos);
    // The stream stays broken: later frames are not trusted.
    d.feed(encode_data("x"));
    EXPECT_FALSE(d.next());
  }
  {
    FrameDecoder d;
    d.feed(std::string("\x00\x7f\xff\xff\xff", 5));  // ~2 GiB announced
    auto f = d.next();
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().what().find("exceeds"), std::string::npos);
  }
  {
    FrameDecoder d;
    d.feed(std::string("\x01\x00\x00\x00\x03\x00\x10\x00", 8));
    auto f = d.next();
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().what().find("resize payload must be 4 bytes"), std::string::npos);
  }
}

TEST(AttachFrame, ValidFrameBeforeABadOneIsDelivered) {
  FrameDecoder d;
  d.feed(encode_data("ok") + std::string("\x09\x00\x00\x00\x00", 5));
  auto first = d.next();
  ASSERT_TRUE(first);
  ASSERT_TRUE(*first);
  EXPECT_EQ((*first)->payload, "ok");
  EXPECT_FALSE(d.next());
}

}  // namespace
}  // namespace raind::attach

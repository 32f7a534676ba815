#include <gtest/gtest.h>

#include "raind-cli/output/pull_progress.hpp"

namespace raind::cli {
namespace {

using namespace std::chrono_literals;

TEST(PullProgress, HumanBytesAndBars) {
  EXPECT_EQ(human_bytes(512), "512 B");
  EXPECT_EQ(human_bytes(1536), "1.5 KiB");
  EXPECT_EQ(human_bytes(5ull << 30), "5.0 GiB");
  EXPECT_EQ(progress_bar(0, 100, 0, 12), "[>         ]       0 B/100 B    ");
  auto half = progress_bar(50, 100, 2048, 12);
  EXPECT_EQ(half.substr(0, 12), "[=====>    ]");
  EXPECT_NE(half.find("2.0 KiB/s"), std::string::npos) << half;
  EXPECT_EQ(progress_bar(100, 100, 0, 12).substr(0, 12), "[==========]");
}

TEST(PullProgress, PlainOutputIsOneLinePerStateChange) {
  PullProgress p(false);
  auto t0 = PullProgress::Clock::time_point{} + 1h;
  std::string out;
  out += p.on_event({{"status", "resolving"}, {"reference", "r/busybox:latest"}}, t0);
  out += p.on_event({{"status", "resolved"},
                     {"digest", "sha256:ab"},
                     {"platform", "linux/amd64"},
                     {"endpoint", "http://r"},
                     {"layers", 1}},
                    t0);
  const std::string layer = "sha256:0123456789abcdef";
  out += p.on_event({{"status", "waiting"}, {"layer", layer}, {"current", 0}, {"total", 2048}}, t0);
  for (int i = 1; i <= 3; ++i)
    out += p.on_event(
        {{"status", "downloading"}, {"layer", layer}, {"current", i * 512}, {"total", 2048}},
        t0 + i * 100ms);
  out += p.on_event({{"status", "unpacking"}, {"layer", layer}, {"current", 2048}, {"total", 2048}},
                    t0);
  out += p.on_event({{"status", "done"}, {"layer", layer}, {"current", 2048}, {"total", 2048}}, t0);
  EXPECT_EQ(out,
            "resolving r/busybox:latest\n"
            "linux/amd64: sha256:ab (http://r, 1 layers)\n"
            "0123456789ab: downloading 2.0 KiB\n"
            "0123456789ab: unpacking 2.0 KiB\n"
            "0123456789ab: done (2.0 KiB)\n");
  EXPECT_FALSE(p.outcome());
  p.on_event({{"status", "pulled"}, {"image", {{"id", "x"}}}});
  ASSERT_TRUE(p.outcome());
  EXPECT_EQ((*p.outcome())["image"]["id"], "x");
}

TEST(PullProgress, TerminalRedrawsEveryLayerInPlace) {
  PullProgress p(true);
  auto t0 = PullProgress::Clock::time_point{} + 1h;
  auto first =
      p.on_event({{"status", "waiting"}, {"layer", "sha256:aaaaaaaaaaaaaaaa"}, {"total", 100}}, t0);
  EXPECT_EQ(first.find("\x1b[1A"), std::string::npos) << "nothing to move over yet";
  auto second =
      p.on_event({{"status", "exists"}, {"layer", "sha256:bbbbbbbbbbbbbbbb"}, {"total", 5}}, t0);
  EXPECT_EQ(second.substr(0, 4), "\x1b[1A");
  p.on_event({{"status", "downloading"},
              {"layer", "sha256:aaaaaaaaaaaaaaaa"},
              {"current", 0},
              {"total", 1 << 20}},
             t0);
  auto bar = p.on_event({{"status", "downloading"},
                         {"layer", "sha256:aaaaaaaaaaaaaaaa"},
                         {"current", 1 << 19},
                         {"total", 1 << 20}},
                        t0 + 1s);
  EXPECT_EQ(bar.substr(0, 4), "\x1b[2A");
  EXPECT_NE(bar.find("aaaaaaaaaaaa: ["), std::string::npos) << bar;
  EXPECT_NE(bar.find("512.0 KiB/s"), std::string::npos) << bar;
  EXPECT_NE(bar.find("bbbbbbbbbbbb: already present"), std::string::npos) << bar;
}

}  // namespace
}  // namespace raind::cli

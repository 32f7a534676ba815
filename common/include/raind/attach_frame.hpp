#pragma once
// The attach protocol between a client (condenserd, a test, an operator tool) and droplet's TTY
// shim. Client → shim: frames [type:1][len:4 big-endian][payload]; type 0x00 is terminal input,
// 0x01 a resize (rows u16 BE, cols u16 BE). Shim → client: the terminal's raw output.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "raind/error.hpp"

namespace raind::attach {

enum class FrameType : std::uint8_t { data = 0x00, resize = 0x01 };

inline constexpr std::size_t kHeaderSize = 5;
inline constexpr std::size_t kMaxPayload = 1u << 20;

struct Frame {
  FrameType type = FrameType::data;
  std::string payload;               // data bytes, or the 4 resize bytes
  std::uint16_t rows = 0, cols = 0;  // resize only
};

std::string encode_data(std::string_view bytes);
std::string encode_resize(std::uint16_t rows, std::uint16_t cols);

// Incremental decoder: bytes may arrive split anywhere. After an error the stream is unusable
// (the peer is out of sync) and every later call fails.
class FrameDecoder {
 public:
  void feed(std::string_view bytes);
  // The next complete frame, nullopt when more bytes are needed, or an error naming what is
  // wrong with the frame at the front (unknown type, oversized, bad resize length).
  Result<std::optional<Frame>> next();

 private:
  std::string buffer_;
  std::size_t offset_ = 0;
  bool broken_ = false;
};

}  // namespace raind::attach

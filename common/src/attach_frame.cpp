#include "raind/attach_frame.hpp"

#include <fmt/format.h>

namespace raind::attach {
namespace {

std::string header(FrameType type, std::size_t len) {
  std::string h(kHeaderSize, '\0');
  h[0] = static_cast<char>(type);
  for (int i = 0; i < 4; ++i) h[1 + i] = static_cast<char>((len >> (8 * (3 - i))) & 0xff);
  return h;
}

std::uint32_t be32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

std::string encode_data(std::string_view bytes) {
  return header(FrameType::data, bytes.size()).append(bytes);
}

std::string encode_resize(std::uint16_t rows, std::uint16_t cols) {
  std::string f = header(FrameType::resize, 4);
  f.push_back(static_cast<char>(rows >> 8));
  f.push_back(static_cast<char>(rows & 0xff));
  f.push_back(static_cast<char>(cols >> 8));
  f.push_back(static_cast<char>(cols & 0xff));
  return f;
}

void FrameDecoder::feed(std::string_view bytes) {
  // Drop consumed bytes first, so a long session does not keep its whole history.
  if (offset_ > 0) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes);
}

Result<std::optional<Frame>> FrameDecoder::next() {
  if (broken_) return fail(Errc::invalid_argument, "attach stream: out of sync after an error");
  if (buffer_.size() - offset_ < kHeaderSize) return std::optional<Frame>();
  const char* h = buffer_.data() + offset_;
  auto type = static_cast<unsigned char>(h[0]);
  std::uint32_t len = be32(h + 1);
  if (type != 0x00 && type != 0x01) {
    broken_ = true;
    return failf(Errc::invalid_argument, "attach frame: unknown type 0x{:02x}", type);
  }
  if (len > kMaxPayload) {
    broken_ = true;
    return failf(Errc::invalid_argument, "attach frame: payload of {} bytes exceeds {}", len,
                 kMaxPayload);
  }
  if (type == 0x01 && len != 4) {
    broken_ = true;
    return failf(Errc::invalid_argument, "attach frame: resize payload must be 4 bytes, got {}",
                 len);
  }
  if (buffer_.size() - offset_ < kHeaderSize + len) return std::optional<Frame>();
  Frame f;
  f.type = static_cast<FrameType>(type);
  f.payload.assign(h + kHeaderSize, len);
  if (f.type == FrameType::resize) {
    auto u8 = [&](std::size_t i) {
      return static_cast<unsigned>(static_cast<unsigned char>(f.payload[i]));
    };
    f.rows = static_cast<std::uint16_t>((u8(0) << 8) | u8(1));
    f.cols = static_cast<std::uint16_t>((u8(2) << 8) | u8(3));
  }
  offset_ += kHeaderSize + len;
  return std::optional<Frame>(std::move(f));
}

}  // namespace raind::attach

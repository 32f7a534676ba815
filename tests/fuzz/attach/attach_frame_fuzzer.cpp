// The attach frame decoder against arbitrary byte streams. Input: one byte choosing the chunk
// size, then the stream. Invariants: feeding the stream in chunks yields exactly the frames (and
// the error) of feeding it at once, and re-encoding the frames gives back the consumed bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "raind/attach_frame.hpp"

namespace {

using raind::attach::Frame;
using raind::attach::FrameDecoder;
using raind::attach::FrameType;

struct Decoded {
  std::vector<Frame> frames;
  bool failed = false;
};

// Drains every complete frame; stops at the first error.
void drain(FrameDecoder& decoder, Decoded& out) {
  while (!out.failed) {
    auto next = decoder.next();
    if (!next) {
      out.failed = true;
      // After an error the decoder must stay broken.
      RAIND_FUZZ_CHECK(!decoder.next().has_value());
      return;
    }
    if (!next->has_value()) return;
    out.frames.push_back(std::move(**next));
  }
}

Decoded decode_chunked(std::string_view stream, std::size_t chunk) {
  FrameDecoder decoder;
  Decoded out;
  for (std::size_t at = 0; at < stream.size() && !out.failed; at += chunk) {
    decoder.feed(stream.substr(at, chunk));
    drain(decoder, out);
  }
  return out;
}

std::string encode(const Frame& frame) {
  if (frame.type == FrameType::resize) return raind::attach::encode_resize(frame.rows, frame.cols);
  return raind::attach::encode_data(frame.payload);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + data[0] % 16;
  std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  Decoded whole = decode_chunked(stream, stream.size() + 1);
  Decoded pieces = decode_chunked(stream, chunk);
  RAIND_FUZZ_CHECK(whole.failed == pieces.failed);
  RAIND_FUZZ_CHECK(whole.frames.size() == pieces.frames.size());

  std::string reencoded;
  for (std::size_t i = 0; i < whole.frames.size(); ++i) {
    const Frame& a = whole.frames[i];
    const Frame& b = pieces.frames[i];
    RAIND_FUZZ_CHECK(a.type == b.type && a.payload == b.payload && a.rows == b.rows &&
                     a.cols == b.cols);
    RAIND_FUZZ_CHECK(a.payload.size() <= raind::attach::kMaxPayload);
    reencoded += encode(a);
  }
  RAIND_FUZZ_CHECK(stream.substr(0, reencoded.size()) == reencoded);
  return 0;
}

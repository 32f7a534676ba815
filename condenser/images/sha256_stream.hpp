#pragma once
// Incremental SHA-256 for content that is only ever seen as a stream (layer tar while unpacking,
// blobs while copying into the store).
#include <cstddef>
#include <memory>
#include <string>

namespace raind::condenser::images {

class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(Sha256Stream&&) noexcept;
  Sha256Stream& operator=(Sha256Stream&&) noexcept;

  void update(const void* data, std::size_t size);
  // "sha256:<64 hex>"; call once.
  std::string finish();
  std::size_t bytes() const { return bytes_; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::size_t bytes_ = 0;
};

}  // namespace raind::condenser::images

#pragma once
// Plain-text tables in the docker/upstream style: upper-case headers, columns padded with at
// least three spaces, no borders.
#include <string>
#include <vector>

namespace raind::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "key: value" lines with the keys aligned.
std::string render_pairs(const std::vector<std::pair<std::string, std::string>>& pairs);

}  // namespace raind::cli

#include "condenser/network/ipv4.hpp"

#include <charconv>

#include <fmt/core.h>

namespace raind::condenser::network {

std::string Subnet::to_string() const {
  return fmt::format("{}/{}", format_ipv4(network), prefix);
}

std::string format_ipv4(Ipv4 a) {
  return fmt::format("{}.{}.{}.{}", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

Result<Ipv4> parse_ipv4(std::string_view text) {
  Ipv4 address = 0;
  std::string_view rest = text;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (rest.empty() || rest.front() != '.')
        return failf(Errc::invalid_argument, "\"{}\" is not an IPv4 address", text);
      rest.remove_prefix(1);
    }
    std::size_t digits = 0;
    while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
    if (digits == 0 || digits > 3 || (digits > 1 && rest.front() == '0'))
      return failf(Errc::invalid_argument, "\"{}\" is not an IPv4 address", text);
    unsigned octet = 0;
    std::from_chars(rest.data(), rest.data() + digits, octet);
    if (octet > 255) return failf(Errc::invalid_argument, "\"{}\" is not an IPv4 address", text);
    address = (address << 8) | octet;
    rest.remove_prefix(digits);
  }
  if (!rest.empty()) return failf(Errc::invalid_argument, "\"{}\" is not an IPv4 address", text);
  return address;
}

Result<Subnet> parse_subnet(std::string_view text) {
  auto slash = text.find('/');
  if (slash == std::string_view::npos)
    return failf(Errc::invalid_argument, "\"{}\" is not a subnet (missing /prefix)", text);
  RAIND_TRY_ASSIGN(Ipv4 base, parse_ipv4(text.substr(0, slash)));
  std::string_view prefix_text = text.substr(slash + 1);
  unsigned prefix = 0;
  auto [end, ec] =
      std::from_chars(prefix_text.data(), prefix_text.data() + prefix_text.size(), prefix);
  if (prefix_text.empty() || ec != std::errc() || end != prefix_text.data() + prefix_text.size() ||
      prefix > 32)
    return failf(Errc::invalid_argument, "\"{}\" has an invalid prefix length", text);
  Subnet subnet{base, prefix};
  if ((base & subnet.mask()) != base)
    return failf(Errc::invalid_argument, "\"{}\" has host bits set (did you mean {}?)", text,
                 Subnet{base & subnet.mask(), prefix}.to_string());
  return subnet;
}

}  // namespace raind::condenser::network

#include "condenser/config/config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include <boost/asio/ip/address.hpp>

namespace raind::condenser {
namespace {

std::string where(std::string_view origin, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  // yaml-cpp marks are 0-based; editors count from 1.
  return fmt::format("{}:{}:{}", origin, mark.line + 1, mark.column + 1);
}

using Setter = std::function<Status(const YAML::Node&)>;

Status check_map(std::string_view origin, const YAML::Node& node, std::string_view section,
                 const std::map<std::string, Setter>& setters) {
  if (node.IsNull()) return ok();
  if (!node.IsMap())
    return failf(Errc::parse, "{}: '{}' must be a mapping", where(origin, node), section);
  for (const auto& item : node) {
    const auto key = item.first.as<std::string>();
    auto it = setters.find(key);
    if (it == setters.end()) {
      return failf(Errc::parse, "{}: unknown key '{}{}{}'", where(origin, item.first), section,
                   section.empty() ? "" : ".", key);
    }
    auto status = it->second(item.second);
    if (!status) return status;
  }
  return ok();
}

Result<std::string> as_string(std::string_view origin, const YAML::Node& node,
                              std::string_view key) {
  if (!node.IsScalar())
    return failf(Errc::parse, "{}: '{}' must be a string", where(origin, node), key);
  return node.Scalar();
}

template <class Int>
Result<Int> as_uint(std::string_view origin, const YAML::Node& node, std::string_view key,
                    Int min_value) {
  if (!node.IsScalar())
    return failf(Errc::parse, "{}: '{}' must be an integer", where(origin, node), key);
  const std::string& text = node.Scalar();
  Int value{};
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || value < min_value)
    return failf(Errc::parse, "{}: '{}' must be an integer >= {}, got '{}'", where(origin, node),
                 key, min_value, text);
  return value;
}

Setter path_setter(std::string_view origin, std::filesystem::path& out, std::string key) {
  return [origin, &out, key](const YAML::Node& node) -> Status {
    if (!node.IsScalar() || !node.Scalar().starts_with('/'))
      return failf(Errc::parse, "{}: '{}' must be an absolute path", where(origin, node), key);
    out = node.Scalar();
    return ok();
  };
}

Setter listen_setter(std::string_view origin, ListenAddress& out, std::string key) {
  return [origin, &out, key](const YAML::Node& node) -> Status {
    RAIND_TRY_ASSIGN(auto text, as_string(origin, node, key));
    auto parsed = parse_listen_address(text);
    if (!parsed)
      return failf(Errc::parse, "{}: '{}': {}", where(origin, node), key, parsed.error().what());
    out = *parsed;
    return ok();
  };
}

template <class Int>
Setter uint_setter(std::string_view origin, Int& out, std::string key, Int min_value) {
  return [origin, &out, key, min_value](const YAML::Node& node) -> Status {
    RAIND_TRY_ASSIGN(out, as_uint<Int>(origin, node, key, min_value));
    return ok();
  };
}

}  // namespace

std::string ListenAddress::str() const {
  if (host.find(':') != std::string::npos) return fmt::format("[{}]:{}", host, port);
  return fmt::format("{}:{}", host, port);
}

Result<ListenAddress> parse_listen_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    return failf(Errc::invalid_argument, "listen address '{}' is not host:port", text);
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() ||
      port > 65535)
    return failf(Errc::invalid_argument, "listen address '{}' has an invalid port", text);
  ListenAddress out;
  out.host = host == "localhost" ? std::string("127.0.0.1") : std::string(host);
  boost::system::error_code bad;
  boost::asio::ip::make_address(out.host, bad);
  if (bad) return failf(Errc::invalid_argument, "listen address '{}' has an invalid host", text);
  out.port = static_cast<std::uint16_t>(port);
  return out;
}

Result<Config> parse_config(std::string_view text, std::string_view origin) {
  Config config;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return failf(Errc::parse, "{}:{}:{}: {}", origin, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  if (!root || root.IsNull()) return config;

  try {
    std::map<std::string, Setter> limits{
        {"header_bytes", uint_setter<std::uint32_t>(origin, config.limits.header_bytes,
                                                    "limits.header_bytes", 1024)},
        {"body_bytes",
         uint_setter<std::uint64_t>(origin, config.limits.body_bytes, "limits.body_bytes", 1)},
        {"request_timeout_s", uint_setter<std::uint32_t>(origin, config.limits.request_timeout_s,
                                                         "limits.request_timeout_s", 1)},
        {"idle_timeout_s", uint_setter<std::uint32_t>(origin, config.limits.idle_timeout_s,
                                                      "limits.idle_timeout_s", 1)},
        {"max_connections", uint_setter<std::uint32_t>(origin, config.limits.max_connections,
                                                       "limits.max_connections", 1)},
        {"shutdown_timeout_s", uint_setter<std::uint32_t>(origin, config.limits.shutdown_timeout_s,
                                                          "limits.shutdown_timeout_s", 0)},
    };
    std::map<std::string, Setter> listen{
        {"management", listen_setter(origin, config.management, "listen.management")},
        {"hooks", listen_setter(origin, config.hooks, "listen.hooks")},
        {"hooks_socket", path_setter(origin, config.hooks_socket, "listen.hooks_socket")},
        {"ca", listen_setter(origin, config.ca, "listen.ca")},
    };
    std::map<std::string, Setter> audit{
        {"max_bytes",
         uint_setter<std::uint64_t>(origin, config.audit.max_bytes, "audit.max_bytes", 4096)},
        {"max_files",
         uint_setter<std::uint32_t>(origin, config.audit.max_files, "audit.max_files", 1)},
    };
    std::map<std::string, Setter> runtime{
        {"droplet", path_setter(origin, config.runtime.droplet, "runtime.droplet")},
        {"policies_dir", path_setter(origin, config.runtime.policies_dir, "runtime.policies_dir")},
        {"cgroup_parent",
         [&](const YAML::Node& node) -> Status {
           auto value = as_string(origin, node, "runtime.cgroup_parent");
           if (!value) return std::unexpected(value.error());
           const std::string parent = *value;
           if (parent.empty() || parent.front() == '/' || parent.find("..") != std::string::npos)
             return failf(Errc::parse,
                          "{}: 'runtime.cgroup_parent' must be a relative cgroup path without "
                          "'..', got '{}'",
                          where(origin, node), parent);
           config.runtime.cgroup_parent = parent;
           return ok();
         }},
        {"nameservers",
         [&](const YAML::Node& node) -> Status {
           if (!node.IsSequence())
             return failf(Errc::parse, "{}: 'runtime.nameservers' must be a list of addresses",
                          where(origin, node));
           config.runtime.nameservers.clear();
           for (const auto& item : node) {
             RAIND_TRY_ASSIGN(auto address, as_string(origin, item, "runtime.nameservers"));
             boost::system::error_code bad;
             boost::asio::ip::make_address_v4(address, bad);
             if (bad)
               return failf(Errc::parse, "{}: 'runtime.nameservers': '{}' is not an IPv4 address",
                            where(origin, item), address);
             config.runtime.nameservers.push_back(address);
           }
           return ok();
         }},
        {"stop_timeout_s", uint_setter<std::uint32_t>(origin, config.runtime.stop_timeout_s,
                                                      "runtime.stop_timeout_s", 0)},
    };
    std::map<std::string, Setter> top{
        {"state_dir", path_setter(origin, config.state_dir, "state_dir")},
        {"run_dir", path_setter(origin, config.run_dir, "run_dir")},
        {"log_dir", path_setter(origin, config.log_dir, "log_dir")},
        {"pki_dir", path_setter(origin, config.pki_dir, "pki_dir")},
        {"log_level",
         [&](const YAML::Node& node) -> Status {
           RAIND_TRY_ASSIGN(auto level, as_string(origin, node, "log_level"));
           static const std::array<std::string_view, 7> kLevels{"trace", "debug",    "info", "warn",
                                                                "error", "critical", "off"};
           if (std::find(kLevels.begin(), kLevels.end(), level) == kLevels.end())
             return failf(Errc::parse,
                          "{}: 'log_level' must be one of trace|debug|info|warn|"
                          "error|critical|off, got '{}'",
                          where(origin, node), level);
           config.log_level = level;
           return ok();
         }},
        {"listen", [&](const YAML::Node& n) { return check_map(origin, n, "listen", listen); }},
        {"limits", [&](const YAML::Node& n) { return check_map(origin, n, "limits", limits); }},
        {"audit", [&](const YAML::Node& n) { return check_map(origin, n, "audit", audit); }},
        {"runtime", [&](const YAML::Node& n) { return check_map(origin, n, "runtime", runtime); }},
    };
    RAIND_TRY(check_map(origin, root, "", top));
  } catch (const YAML::Exception& e) {
    return failf(Errc::parse, "{}:{}:{}: {}", origin, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  return config;
}

Result<Config> load_config(const std::filesystem::path& path, bool missing_ok) {
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT && missing_ok) return Config{};
    return fail_errno(fmt::format("open config {}", path.string()));
  }
  std::stringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path.string());
}

}  // namespace raind::condenser

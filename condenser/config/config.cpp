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
        {"iptables",
         [&](const YAML::Node& node) -> Status {
           RAIND_TRY_ASSIGN(auto value, as_string(origin, node, "runtime.iptables"));
           if (value != "auto" && value != "nft" && value != "legacy")
             return failf(Errc::parse,
                          "{}: 'runtime.iptables' must be auto, nft or legacy, got '{}'",
                          where(origin, node), value);
           config.runtime.iptables = value;
           return ok();
         }},
    };
    auto string_list = [&](std::vector<std::string>& out, std::string key,
                           std::function<Status(const YAML::Node&, const std::string&)> check) {
      return [&out, key, check, origin](const YAML::Node& node) -> Status {
        if (!node.IsSequence())
          return failf(Errc::parse, "{}: '{}' must be a list", where(origin, node), key);
        out.clear();
        for (const auto& item : node) {
          RAIND_TRY_ASSIGN(auto value, as_string(origin, item, key));
          RAIND_TRY(check(item, value));
          out.push_back(value);
        }
        return ok();
      };
    };
    std::map<std::string, Setter> images{
        {"auth_file", path_setter(origin, config.images.auth_file, "images.auth_file")},
        {"certs_dir", path_setter(origin, config.images.certs_dir, "images.certs_dir")},
        {"registry_mirrors",
         string_list(config.images.registry_mirrors, "images.registry_mirrors",
                     [&](const YAML::Node& node, const std::string& value) -> Status {
                       if (!(value.starts_with("http://") || value.starts_with("https://")) ||
                           value.size() <= 8)
                         return failf(Errc::parse,
                                      "{}: 'images.registry_mirrors': '{}' is not an http(s) URL",
                                      where(origin, node), value);
                       return ok();
                     })},
        {"insecure_registries",
         string_list(config.images.insecure_registries, "images.insecure_registries",
                     [&](const YAML::Node& node, const std::string& value) -> Status {
                       if (value.empty() || value.find('/') != std::string::npos)
                         return failf(Errc::parse,
                                      "{}: 'images.insecure_registries': '{}' is not host[:port]",
                                      where(origin, node), value);
                       return ok();
                     })},
        {"max_concurrent_downloads",
         uint_setter<std::uint32_t>(origin, config.images.max_concurrent_downloads,
                                    "images.max_concurrent_downloads", 1)},
        {"timeout_s",
         uint_setter<std::uint32_t>(origin, config.images.timeout_s, "images.timeout_s", 1)},
    };
    auto bool_setter = [origin](bool& out, std::string key) -> Setter {
      return [origin, &out, key](const YAML::Node& node) -> Status {
        if (!node.IsScalar() || (node.Scalar() != "true" && node.Scalar() != "false"))
          return failf(Errc::parse, "{}: '{}' must be true or false", where(origin, node), key);
        out = node.Scalar() == "true";
        return ok();
      };
    };
    auto ipv4_endpoint = [&](const YAML::Node& node, const std::string& value,
                             const std::string& key, bool port_allowed) -> Status {
      std::string host = value;
      if (auto colon = value.find(':'); colon != std::string::npos && port_allowed) {
        host = value.substr(0, colon);
        unsigned port = 0;
        auto digits = std::string_view(value).substr(colon + 1);
        auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
        if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() ||
            port == 0 || port > 65535)
          return failf(Errc::parse, "{}: '{}': '{}' has an invalid port", where(origin, node), key,
                       value);
      }
      boost::system::error_code bad;
      boost::asio::ip::make_address_v4(host, bad);
      if (bad)
        return failf(Errc::parse, "{}: '{}': '{}' is not an IPv4 address{}", where(origin, node),
                     key, value, port_allowed ? "[:port]" : "");
      return ok();
    };
    std::map<std::string, Setter> flowlog{
        {"enabled", bool_setter(config.flowlog.enabled, "flowlog.enabled")},
        {"input",
         [&](const YAML::Node& node) -> Status {
           RAIND_TRY_ASSIGN(auto value, as_string(origin, node, "flowlog.input"));
           if (value != "managed" && value != "listen" &&
               !(value.starts_with("file:/") && value.size() > 6))
             return failf(Errc::parse,
                          "{}: 'flowlog.input' must be 'managed', 'listen' or "
                          "'file:/absolute/path', got '{}'",
                          where(origin, node), value);
           config.flowlog.input = value;
           return ok();
         }},
        {"ulogd", path_setter(origin, config.flowlog.ulogd, "flowlog.ulogd")},
        {"plugin_dir", path_setter(origin, config.flowlog.plugin_dir, "flowlog.plugin_dir")},
        {"max_bytes",
         uint_setter<std::uint64_t>(origin, config.flowlog.max_bytes, "flowlog.max_bytes", 4096)},
        {"max_files",
         uint_setter<std::uint32_t>(origin, config.flowlog.max_files, "flowlog.max_files", 1)},
    };
    std::map<std::string, Setter> dns{
        {"enabled", bool_setter(config.dns.enabled, "dns.enabled")},
        {"address",
         [&](const YAML::Node& node) -> Status {
           RAIND_TRY_ASSIGN(auto value, as_string(origin, node, "dns.address"));
           RAIND_TRY(ipv4_endpoint(node, value, "dns.address", false));
           config.dns.address = value;
           return ok();
         }},
        {"upstreams", string_list(config.dns.upstreams, "dns.upstreams",
                                  [&](const YAML::Node& node, const std::string& value) {
                                    return ipv4_endpoint(node, value, "dns.upstreams", true);
                                  })},
        {"timeout_ms",
         uint_setter<std::uint32_t>(origin, config.dns.timeout_ms, "dns.timeout_ms", 10)},
        {"cache_size",
         uint_setter<std::uint32_t>(origin, config.dns.cache_size, "dns.cache_size", 0)},
    };
    std::map<std::string, Setter> metrics{
        {"interval_s",
         uint_setter<std::uint32_t>(origin, config.metrics.interval_s, "metrics.interval_s", 0)},
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
        {"images", [&](const YAML::Node& n) { return check_map(origin, n, "images", images); }},
        {"flowlog", [&](const YAML::Node& n) { return check_map(origin, n, "flowlog", flowlog); }},
        {"dns", [&](const YAML::Node& n) { return check_map(origin, n, "dns", dns); }},
        {"metrics", [&](const YAML::Node& n) { return check_map(origin, n, "metrics", metrics); }},
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

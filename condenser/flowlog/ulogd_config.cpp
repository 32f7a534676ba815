#include "condenser/flowlog/ulogd_config.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace raind::condenser::flowlog {
namespace {

// ulogd's config parser has no escapes: a quote, newline or '#' would end or corrupt the value.
bool quotable(const std::string& value) {
  return value.find_first_of("\"\n\r#") == std::string::npos;
}

}  // namespace

Result<std::string> render_ulogd_config(const UlogdConfigOptions& options) {
  if (options.socket_path.empty()) return fail(Errc::invalid_argument, "ulogd config: no socket");
  if (options.groups.empty()) return fail(Errc::invalid_argument, "ulogd config: no nflog groups");
  for (std::size_t i = 0; i < options.groups.size(); ++i) {
    if (options.groups[i] > 65535)
      return failf(Errc::invalid_argument, "ulogd config: nflog group {} out of range",
                   options.groups[i]);
    if (std::count(options.groups.begin(), options.groups.end(), options.groups[i]) > 1)
      return failf(Errc::invalid_argument, "ulogd config: nflog group {} listed twice",
                   options.groups[i]);
  }
  const std::string logfile = options.logfile.empty() ? "stdout" : options.logfile.string();
  for (const std::string& value :
       {options.socket_path.string(), logfile, options.plugin_dir.string()}) {
    if (!quotable(value))
      return failf(Errc::invalid_argument, "ulogd config: '{}' cannot be quoted", value);
  }
  const std::string dir = options.plugin_dir.string();

  std::string text;
  text += "# Written by condenserd (flowlog, managed mode). Regenerated on every start.\n";
  text += "[global]\n";
  text += fmt::format("logfile=\"{}\"\n", logfile);
  text += fmt::format("loglevel={}\n", options.loglevel);
  for (const char* plugin :
       {"ulogd_inppkt_NFLOG.so", "ulogd_raw2packet_BASE.so", "ulogd_filter_IFINDEX.so",
        "ulogd_filter_IP2STR.so", "ulogd_filter_HWHDR.so", "ulogd_output_JSON.so"})
    text += fmt::format("plugin=\"{}/{}\"\n", dir, plugin);
  // Every stack ends in json1, yet each stack opens its own connection to the socket.
  for (unsigned g : options.groups)
    text += fmt::format(
        "stack=log{}:NFLOG,base1:BASE,ifi1:IFINDEX,ip2str1:IP2STR,mac2str1:HWHDR,json1:JSON\n", g);
  for (unsigned g : options.groups) {
    text += fmt::format("\n[log{}]\ngroup={}\n", g, g);
    // Without it the kernel batches NFLOG messages until its 1 s flush timeout.
    text += "netlink_qthreshold=1\n";
  }
  text += "\n[json1]\n";
  // mode="unix": ulogd connects as a SOCK_STREAM client and writes one JSON object per line.
  text += "mode=\"unix\"\n";
  text += fmt::format("file=\"{}\"\n", options.socket_path.string());
  text += "sync=1\n";
  return text;
}

}  // namespace raind::condenser::flowlog

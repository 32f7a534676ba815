#include "condenser/bottle/env.hpp"

namespace raind::condenser::bottle {

Result<std::vector<std::string>> resolve_env(const std::vector<std::string>& env,
                                             const std::vector<Dependency>& depends_on,
                                             const DependencyAddresses& addresses) {
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& entry : env) {
    const auto eq = entry.find('=');
    if (eq == std::string::npos) {
      out.push_back(entry);
      continue;
    }
    const std::string_view value = std::string_view(entry).substr(eq + 1);
    std::string resolved = entry;
    for (const auto& dep : depends_on) {
      const std::string_view name = dep.service;
      const bool whole = value == name;
      const bool with_port =
          value.size() > name.size() && value.starts_with(name) && value[name.size()] == ':';
      if (!whole && !with_port) continue;
      auto ip = addresses.find(name);
      if (ip == addresses.end())
        return failf(Errc::not_found, "env '{}': dependency '{}' has no address", entry, name);
      resolved = entry.substr(0, eq + 1) + ip->second + std::string(value.substr(name.size()));
      break;  // service names hold no ':', so at most one dependency matches
    }
    out.push_back(std::move(resolved));
  }
  return out;
}

Result<std::vector<std::string>> resolve_env(const Service& service,
                                             const DependencyAddresses& addresses) {
  return resolve_env(service.env, service.depends_on, addresses);
}

}  // namespace raind::condenser::bottle

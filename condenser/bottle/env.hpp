#pragma once
// Service discovery the Raind way: there is no DNS between a bottle's services, so an env value
// that names a dependency ("WORDPRESS_DB_HOST=db:3306") is rewritten to the address of that
// dependency's container ("10.166.1.1:3306") when the container is created. Only services the
// service depends on are substituted: they are the ones created (and addressed) before it.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "condenser/bottle/model.hpp"
#include "raind/error.hpp"

namespace raind::condenser::bottle {

// dependency service name -> the IPv4 address of its container
using DependencyAddresses = std::map<std::string, std::string, std::less<>>;

// Each "K=V" whose V equals a dependency's name becomes "K=<ip>", and whose V starts with
// "<dep>:" becomes "K=<ip>:<rest>". Other entries are copied unchanged. Errc::not_found when a
// value names a dependency that has no address in `addresses`.
Result<std::vector<std::string>> resolve_env(const std::vector<std::string>& env,
                                             const std::vector<Dependency>& depends_on,
                                             const DependencyAddresses& addresses);
Result<std::vector<std::string>> resolve_env(const Service& service,
                                             const DependencyAddresses& addresses);

}  // namespace raind::condenser::bottle

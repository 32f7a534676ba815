#pragma once
// Start order of a bottle's services: Kahn's algorithm over depends_on with a deterministic
// tie-break (among services whose dependencies have all started, the smallest name goes first),
// so the same file always starts the same way. Stop and remove use the reverse.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "raind/error.hpp"

namespace raind::condenser::bottle {

// service -> the services it depends on.
using DependencyGraph = std::map<std::string, std::set<std::string>>;

// A dependency cycle as a path that ends where it starts ("a", "b", "a": a depends on b, b on
// a), rotated to begin at its smallest name; the same graph always yields the same cycle.
// Dependencies on services missing from the graph are ignored here.
std::optional<std::vector<std::string>> find_cycle(const DependencyGraph& graph);
std::string format_cycle(const std::vector<std::string>& path);  // "a -> b -> a"

// Dependencies first, ties in name order. Errc::invalid_argument for a dependency on an unknown
// service, on itself, or a cycle ("dependency cycle: a -> b -> a").
Result<std::vector<std::string>> start_order(const DependencyGraph& graph);

}  // namespace raind::condenser::bottle

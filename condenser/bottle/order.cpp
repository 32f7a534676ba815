#include "condenser/bottle/order.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace raind::condenser::bottle {
namespace {

enum class Mark { unvisited, on_path, done };

// Depth-first search from `node`; `path` is the chain of services being visited. Returns the
// cycle closed by the first edge back onto the path.
std::optional<std::vector<std::string>> visit(const DependencyGraph& graph, const std::string& node,
                                              std::map<std::string, Mark>& marks,
                                              std::vector<std::string>& path) {
  marks[node] = Mark::on_path;
  path.push_back(node);
  for (const auto& dep : graph.at(node)) {
    if (!graph.contains(dep)) continue;
    Mark mark = marks[dep];
    if (mark == Mark::on_path) {
      auto first = std::find(path.begin(), path.end(), dep);
      return std::vector<std::string>(first, path.end());
    }
    if (mark == Mark::unvisited) {
      if (auto cycle = visit(graph, dep, marks, path)) return cycle;
    }
  }
  path.pop_back();
  marks[node] = Mark::done;
  return std::nullopt;
}

}  // namespace

std::optional<std::vector<std::string>> find_cycle(const DependencyGraph& graph) {
  std::map<std::string, Mark> marks;
  std::vector<std::string> path;
  for (const auto& [node, deps] : graph) {
    if (marks[node] != Mark::unvisited) continue;
    if (auto cycle = visit(graph, node, marks, path)) {
      std::rotate(cycle->begin(), std::min_element(cycle->begin(), cycle->end()), cycle->end());
      cycle->push_back(cycle->front());
      return cycle;
    }
  }
  return std::nullopt;
}

std::string format_cycle(const std::vector<std::string>& path) {
  return fmt::format("{}", fmt::join(path, " -> "));
}

Result<std::vector<std::string>> start_order(const DependencyGraph& graph) {
  std::map<std::string, std::size_t> waiting;  // dependencies not started yet
  std::map<std::string, std::vector<std::string>> dependents;
  for (const auto& [node, deps] : graph) {
    for (const auto& dep : deps) {
      if (dep == node)
        return failf(Errc::invalid_argument, "invalid dependency: service '{}' depends on itself",
                     node);
      if (!graph.contains(dep))
        return failf(Errc::invalid_argument,
                     "invalid dependency: service '{}' depends on unknown service '{}'", node, dep);
      dependents[dep].push_back(node);
    }
    waiting[node] = deps.size();
  }
  std::set<std::string> ready;
  for (const auto& [node, count] : waiting)
    if (count == 0) ready.insert(node);
  std::vector<std::string> order;
  order.reserve(graph.size());
  while (!ready.empty()) {
    std::string node = *ready.begin();
    ready.erase(ready.begin());
    for (const auto& dependent : dependents[node])
      if (--waiting[dependent] == 0) ready.insert(dependent);
    order.push_back(std::move(node));
  }
  if (order.size() != graph.size()) {
    auto cycle = find_cycle(graph);
    return failf(Errc::invalid_argument, "invalid dependency: dependency cycle: {}",
                 cycle ? format_cycle(*cycle) : std::string("(unknown)"));
  }
  return order;
}

}  // namespace raind::condenser::bottle

#pragma once
#include <string_view>
#include <vector>

#include "raind/oci/runtime_spec.hpp"

namespace raind::droplet {
// Used by the container init for startContainer hooks: on failure prints one line to stderr and
// exits the init (the container then stops, as the spec requires).
void run_hooks_in_child(const std::vector<oci::Hook>& hooks, std::string_view state,
                        const char* phase) noexcept;
}  // namespace raind::droplet

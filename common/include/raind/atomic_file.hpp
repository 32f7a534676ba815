#pragma once
// Crash-safe file replacement: write a temp file in the same directory, fsync it, rename it over
// the target and fsync the directory. Readers see either the old or the new content, never a mix.
#include <sys/types.h>

#include <filesystem>
#include <string_view>

#include "raind/error.hpp"

namespace raind {

// atomic_only skips both fsyncs: for runtime state whose subject (processes, mounts) does not
// survive a reboot either, readers still never see a torn file.
enum class Durability { durable, atomic_only };

Status write_file_atomic(const std::filesystem::path& path, std::string_view content,
                         mode_t mode = 0644, Durability durability = Durability::durable);

}  // namespace raind

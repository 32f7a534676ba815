#pragma once
// Crash-safe file replacement: write a temp file in the same directory, fsync it, rename it over
// the target and fsync the directory. Readers see either the old or the new content, never a mix.
#include <sys/types.h>

#include <filesystem>
#include <string_view>

#include "raind/error.hpp"

namespace raind {

Status write_file_atomic(const std::filesystem::path& path, std::string_view content,
                         mode_t mode = 0644);

}  // namespace raind

#pragma once
// Path handling for untrusted archive entries: every component is opened relative to a directory
// fd, one at a time, refusing symlinks, so a layer can never make us write through a link it
// planted (the classic "a -> /" then "a/etc/passwd" escape).
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "raind/error.hpp"
#include "raind/unique_fd.hpp"

namespace raind::condenser::images {

// Splits an archive path into components, dropping "." and empty parts ("./a//b" → a, b).
// Rejects absolute paths and ".." components; the error names the path.
Result<std::vector<std::string>> split_entry_path(std::string_view path);

// Opens the directory root/components[0]/…/components[n-1] without following any symlink and
// without leaving root. With create_missing, absent directories are made (mode 0755, as the
// implicit parents of a tar entry). Errors name the offending component.
Result<UniqueFd> open_dir_beneath(int root_fd, std::span<const std::string> components,
                                  bool create_missing);

// Removes name (recursively for a directory) below dir_fd; never follows symlinks. Missing is ok.
Status remove_at(int dir_fd, const std::string& name);

}  // namespace raind::condenser::images

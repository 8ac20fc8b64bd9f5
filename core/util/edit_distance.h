// Closest-name suggestions for "did you mean ...?" in error messages (unknown argument, dataset, ...).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace lathe {

/// Levenshtein distance (insertions, deletions, substitutions) between two byte strings.
std::size_t editDistance(const std::string& a, const std::string& b);

/// Up to `count` candidates closest to `name`, nearest first, among those within max(3, |name| / 3) edits.
std::vector<std::string> closestNames(const std::string& name, const std::vector<std::string>& candidates,
                                      std::size_t count = 1);

} // namespace lathe

// A dataset repo's named configurations (`subset` in dataset_info.json, `name=` of the datasets library), read from
// its card: README.md's YAML front matter, as the datasets library reads it.
//
//   configs:
//   - config_name: en
//     data_files:
//     - split: train
//       path: dpo_en.json            (a path or glob, or a list of them)
//   - config_name: zh
//     data_files: dpo_zh.json        (a path, glob or list: the train split)
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace lathe {

/// The files among `files` (repo paths) that configuration `subset` names for `split` (or, when it names no such
/// split, for its only split). nullopt when the card has no `configs`. Throws lathe::Error (with `what`) for a
/// front matter that is not YAML, or when no configuration is named `subset` (listing those that are).
std::optional<std::vector<std::string>> dataFilesOfConfig(const std::string& card, const std::string& subset,
                                                          const std::string& split, const std::vector<std::string>& files,
                                                          const std::string& what);

/// fnmatch as the datasets library matches data_files: `*` and `?` within one path segment, `**` across them.
bool globMatch(const std::string& pattern, const std::string& path);

} // namespace lathe

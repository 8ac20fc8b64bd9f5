#include "hub/dataset_card.h"

#include <yaml-cpp/yaml.h>

#include "util/error.h"

namespace lathe {

namespace {

/// Whether pattern[i:] matches path[j:], memoised (each (i, j) is decided once: no exponential backtracking).
struct Glob
{
    const std::string& p;
    const std::string& s;
    std::vector<signed char> memo;

    bool at(std::size_t i, std::size_t j)
    {
        signed char& m = memo[i * (s.size() + 1) + j];
        if (m < 0)
            m = decide(i, j);
        return m != 0;
    }
    bool decide(std::size_t i, std::size_t j)
    {
        if (i == p.size())
            return j == s.size();
        if (p[i] == '*' && i + 1 < p.size() && p[i + 1] == '*') {
            std::size_t k = i + 2;
            if (k < p.size() && p[k] == '/')
                ++k; // "**/" also matches no folder
            for (std::size_t t = j; t <= s.size(); ++t)
                if (at(k, t))
                    return true;
            return false;
        }
        if (p[i] == '*') {
            for (std::size_t t = j;; ++t) {
                if (at(i + 1, t))
                    return true;
                if (t == s.size() || s[t] == '/')
                    return false;
            }
        }
        if (j == s.size() || (p[i] == '?' ? s[j] == '/' : p[i] != s[j]))
            return false;
        return at(i + 1, j + 1);
    }
};

std::vector<std::string> patternsOf(const YAML::Node& node)
{
    std::vector<std::string> out;
    if (node.IsScalar())
        out.push_back(node.as<std::string>());
    else if (node.IsSequence())
        for (const auto& item : node)
            if (item.IsScalar())
                out.push_back(item.as<std::string>());
    return out;
}

std::optional<std::vector<std::string>> configFiles(const YAML::Node& root, const std::string& subset,
                                                    const std::string& split, const std::vector<std::string>& files,
                                                    const std::string& what)
{
    if (!root.IsMap() || !root["configs"] || !root["configs"].IsSequence())
        return std::nullopt;
    std::vector<std::string> names;
    for (const auto& config : root["configs"]) {
        if (!config.IsMap() || !config["config_name"] || !config["config_name"].IsScalar())
            continue;
        const std::string name = config["config_name"].as<std::string>();
        names.push_back(name);
        if (name != subset)
            continue;
        // data_files: patterns (the train split), or [{split, path}] entries.
        std::vector<std::pair<std::string, std::vector<std::string>>> splits;
        const YAML::Node dataFiles = config["data_files"];
        if (!dataFiles)
            fail(what, ": configuration \"", subset, "\" of its README.md names no data_files");
        if (dataFiles.IsSequence() && dataFiles.size() > 0 && dataFiles[0].IsMap()) {
            for (const auto& entry : dataFiles)
                if (entry.IsMap() && entry["split"] && entry["path"])
                    splits.emplace_back(entry["split"].as<std::string>(), patternsOf(entry["path"]));
        } else if (dataFiles.IsMap()) {
            for (const auto& entry : dataFiles)
                splits.emplace_back(entry.first.as<std::string>(), patternsOf(entry.second));
        } else {
            splits.emplace_back("train", patternsOf(dataFiles));
        }
        const std::vector<std::string>* patterns = nullptr;
        for (const auto& [s, p] : splits)
            if (s == split)
                patterns = &p;
        if (!patterns && splits.size() == 1)
            patterns = &splits.front().second;
        if (!patterns) {
            std::string list;
            for (const auto& [s, p] : splits)
                list += (list.empty() ? "" : ", ") + s;
            fail(what, ": configuration \"", subset, "\" has no split \"", split, "\" (it has ", list,
                 "); set \"split\" in dataset_info.json");
        }
        std::vector<std::string> out;
        for (const auto& f : files)
            for (const auto& pattern : *patterns)
                if (globMatch(pattern, f)) {
                    out.push_back(f);
                    break;
                }
        return out;
    }
    std::string list;
    for (const auto& n : names)
        list += (list.empty() ? "" : ", ") + n;
    fail(what, ": no configuration named \"", subset, "\" (its README.md lists ", list.empty() ? "none" : list,
         "); set \"subset\" in dataset_info.json to one of them");
}

} // namespace

bool globMatch(const std::string& pattern, const std::string& path)
{
    std::string p = pattern;
    if (p.rfind("./", 0) == 0)
        p = p.substr(2);
    if (p.size() > 1024 || path.size() > 4096)
        return false;
    Glob glob{p, path, std::vector<signed char>((p.size() + 1) * (path.size() + 1), -1)};
    return glob.at(0, 0);
}

std::optional<std::vector<std::string>> dataFilesOfConfig(const std::string& card, const std::string& subset,
                                                          const std::string& split, const std::vector<std::string>& files,
                                                          const std::string& what)
{
    // The front matter: the lines between a first line "---" and the next "---".
    if (card.rfind("---", 0) != 0)
        return std::nullopt;
    const auto start = card.find('\n');
    const auto end = start == std::string::npos ? std::string::npos : card.find("\n---", start);
    if (end == std::string::npos)
        return std::nullopt;
    YAML::Node root;
    try {
        root = YAML::Load(card.substr(start + 1, end - start - 1));
    } catch (const YAML::Exception& e) {
        fail(what, ": README.md's front matter is not YAML (line ", e.mark.line + 2, ": ", e.msg, ")");
    }
    try {
        return configFiles(root, subset, split, files, what);
    } catch (const YAML::Exception& e) {
        fail(what, ": README.md's configs are not what the datasets library reads (", e.msg, ")");
    }
}

} // namespace lathe

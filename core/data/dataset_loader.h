// Loading the datasets a run names: registry entry -> file records -> aligned Examples, with LLaMA-Factory's
// sampling rules (num_samples, max_samples), mixing (concatenation) and the val_size split.
//
// Nothing is dropped silently: every record that cannot be used is a DataIssue with its reason, and a
// column the entry names that no record has is reported once for the file ("wrong column name").
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "data/converter.h"
#include "data/dataset_attr.h"

namespace lathe {

struct DatasetLoadOptions
{
    /// Training stage ("sft", "pt", "rm", "dpo", "kto", ...): decides which examples are usable.
    std::string stage = "sft";
    /// `max_samples`: keep the first N examples of each dataset (after num_samples).
    std::optional<long long> maxSamples;
    /// Seed for num_samples and the val_size split.
    std::uint64_t seed = 42;
    /// Stop after this many records per dataset (preview); nullopt reads all.
    std::optional<long long> recordLimit;
    /// Where a hub dataset's download says what it does (hf_hub_url / ms_hub_url entries); may be empty.
    std::function<void(const std::string&)> log;
};

struct LoadedDataset
{
    DatasetAttr attr;
    std::string path;         ///< the file or folder read
    std::int64_t records = 0; ///< records read from the file(s)
    std::vector<Example> examples;
    std::vector<DataIssue> issues;

    std::int64_t dropped() const;
};

/// Loads one dataset of the registry. Throws lathe::Error when the entry is not a local file, or the file is
/// missing or unreadable (naming the path relative to dataset_dir); per-record problems become issues.
LoadedDataset loadDataset(const DatasetRegistry& registry, const std::string& name,
                          const DatasetLoadOptions& options = {});

/// Streams one dataset: each usable Example goes to `sink` as it is read (num_samples and max_samples are not
/// applied: they need the whole dataset). The result holds the counts and issues, no examples.
LoadedDataset scanDataset(const DatasetRegistry& registry, const std::string& name,
                          const DatasetLoadOptions& options, const std::function<void(Example&&)>& sink);

/// Several datasets concatenated in order (`dataset: a,b`).
std::vector<LoadedDataset> loadDatasets(const DatasetRegistry& registry,
                                        const std::vector<std::string>& names,
                                        const DatasetLoadOptions& options = {});

/// The seeded shuffle of 0..n-1 behind val_size and how many of its first indices go to evaluation (`valSize` a
/// fraction when < 1, a count otherwise); throws lathe::Error when nothing would be left to train on.
std::pair<std::vector<std::size_t>, std::size_t> validationOrder(std::size_t n, double valSize, std::uint64_t seed);

/// Splits `examples` into (train, eval) with `valSize` (a fraction when < 1, a count otherwise), seeded.
std::pair<std::vector<Example>, std::vector<Example>> splitValidation(std::vector<Example> examples,
                                                                      double valSize, std::uint64_t seed);

/// Splits "a, b,c" into names.
std::vector<std::string> splitNames(const std::string& list);

} // namespace lathe

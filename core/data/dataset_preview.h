// What a person looks at before training: pages of raw records (LLaMA-Board's preview, any page size), the
// training view of a record (the exact text the model sees, learned spans marked), and per-dataset statistics
// (counts, drops with reasons, truncations, token-length histogram). The CLI and the window both use these.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset_loader.h"
#include "data/processor.h"

namespace lathe {

struct PreviewPage
{
    std::int64_t count = 0;              ///< records in the dataset
    std::int64_t firstIndex = 0;         ///< index of records[0]
    std::vector<nlohmann::json> records; ///< the page, raw as in the file
};

/// Page `page` (from 0) of `pageSize` raw records of dataset `name` (streams the file once).
PreviewPage previewRecords(const DatasetRegistry& registry, const std::string& name, std::int64_t page,
                           std::int64_t pageSize);

struct TrainingView
{
    std::int64_t record = -1;
    std::int64_t tokens = 0;
    bool truncated = false;
    std::vector<LabeledSpan> spans;
    std::string error; ///< why the record has no training view (not empty = no spans)
};

/// The supervised training view of one raw record.
TrainingView trainingView(const TemplateEncoder& encoder, const Tokenizer& tokenizer, const DatasetAttr& attr,
                          const nlohmann::json& record, std::int64_t index, const ProcessOptions& options);

struct DatasetStats
{
    std::string name;
    std::int64_t records = 0, examples = 0, dropped = 0, truncated = 0, learnedTokens = 0;
    std::map<std::string, std::int64_t> dropReasons;
    std::vector<std::int64_t> lengths; ///< sorted token lengths of the examples
    std::int64_t binWidth = 1;
    std::vector<std::int64_t> histogram; ///< 10 bins of binWidth tokens

    std::int64_t percentile(double p) const;
};

/// Statistics of a supervised dataset under a template and cutoff_len.
DatasetStats datasetStats(const DatasetRegistry& registry, const std::string& name,
                          const TemplateEncoder& encoder, const ProcessOptions& options,
                          const DatasetLoadOptions& load = {});

} // namespace lathe

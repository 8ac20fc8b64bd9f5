// Training data per kind (config/stages.h's StageData): a data builder loads the named datasets into
// tokenized examples the way LLaMA-Factory's processor for that kind does, and collates a micro-batch of them
// into the tensors the stage's objective reads (train/objective.h's TrainBatch).
//
//   Supervised    sft: the token cache (streamed, parallel preprocessing), optional packing by the trainer
//   Unsupervised  pt: texts + EOS, cut or packed into cutoff_len blocks
//   Pairwise      rm, dpo: prompt + chosen, prompt + rejected; collated chosen rows first, padded to a
//                 multiple of 8 as PairwiseDataCollatorWithPadding does
//   Feedback      kto: the answer and the KL pairing (each prompt with the previous example's answer), the
//                 KL rows padded apart (KTODataCollatorWithPadding)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/types.h>

#include "config/stages.h"
#include "data/processor.h"
#include "train/objective.h"

namespace lathe {

class DatasetRegistry;
class TokenCache;
class Tokenizer;
class TemplateEncoder;

/// One training example: its sequences (1 for sft/pt; chosen + rejected for pairs; the answer + its KL row
/// for feedback) and, for feedback, whether the answer is desirable.
struct TrainItem
{
    std::vector<TokenizedExample> rows;
    bool desirable = true;
};

/// Examples by index, from token caches or memory.
class ExampleSet
{
public:
    void addCache(std::shared_ptr<TokenCache> cache, std::size_t begin, std::size_t end);
    void add(TrainItem item);
    std::size_t size() const { return m_refs.size(); }
    TrainItem at(std::size_t i) const;
    /// Keeps the examples at `indices`, in that order.
    ExampleSet subset(const std::vector<std::size_t>& indices) const;

private:
    static constexpr std::size_t kMemory = std::size_t(-1);
    struct Ref
    {
        std::size_t source, index;
    };
    std::vector<std::shared_ptr<TokenCache>> m_caches;
    std::vector<TrainItem> m_memory;
    std::vector<Ref> m_refs;
};

/// What loading needs from the run.
struct DataOptions
{
    std::string stage;
    std::string modelPath;          ///< tokenizer files (the cache key)
    std::string templateName;
    std::int64_t cutoffLen = 2048;
    std::optional<std::int64_t> maxSamples;
    std::uint64_t seed = 42;
    int workers = 1;
    std::string cacheDir;
    bool overwriteCache = false;
    bool packing = false; ///< pt
    ProcessOptions process;
    std::function<void(const std::string&)> log;
};

class DataBuilder
{
public:
    virtual ~DataBuilder() = default;
    /// Loads the datasets `names` (dataset_info.json entries) and appends their examples to `into`. Throws
    /// lathe::Error naming the dataset when it does not suit the stage (a ranking dataset for sft, ...).
    virtual void load(const DatasetRegistry& registry, const std::vector<std::string>& names,
                      const Tokenizer& tokenizer, const TemplateEncoder& encoder, const DataOptions& options,
                      ExampleSet& into) const = 0;
    /// A micro-batch of `items` on `device`, padded on the right with `padId`.
    virtual TrainBatch collate(const std::vector<TrainItem>& items, TokenId padId, const torch::Device& device) const = 0;
};

/// Supervised examples packed into sequences of cutoffLen + 1 tokens (LLaMA-Factory's packing).
ExampleSet packSupervised(const ExampleSet& examples, std::int64_t cutoffLen, TokenId padId);

/// (train, eval): `valSize` of the examples (a share when < 1, a count otherwise) held out for evaluation by a
/// seeded shuffle. Throws lathe::Error when nothing would be left to train on.
std::pair<ExampleSet, ExampleSet> splitForEvaluation(const ExampleSet& examples, double valSize, std::uint64_t seed);

/// The builder of a kind of data.
std::unique_ptr<DataBuilder> makeDataBuilder(StageData kind);

/// Pads `rows` on the right to the longest (rounded up to `multiple`): input ids with `padId`, labels with -100,
/// and the attention mask (left undefined when nothing is padded and `alwaysMask` is false).
struct PaddedRows
{
    torch::Tensor inputIds, labels, attentionMask;
    std::int64_t tokens = 0, labeled = 0;
};
PaddedRows padRows(const std::vector<const TokenizedExample*>& rows, TokenId padId, const torch::Device& device,
                   std::int64_t multiple = 1, bool alwaysMask = false);

} // namespace lathe

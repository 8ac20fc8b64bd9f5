#include "train/train_data.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include <torch/torch.h>

#include "data/dataset_attr.h"
#include "data/dataset_loader.h"
#include "data/token_cache.h"
#include "template/template_encoder.h"
#include "tokenizer/tokenizer.h"
#include "util/error.h"

namespace lathe {

// ---------------------------------------------------------------------------------------------------------
// ExampleSet
// ---------------------------------------------------------------------------------------------------------

void ExampleSet::addCache(std::shared_ptr<TokenCache> cache, std::size_t begin, std::size_t end)
{
    m_caches.push_back(std::move(cache));
    for (std::size_t i = begin; i < end; ++i)
        m_refs.push_back({m_caches.size() - 1, i});
}

void ExampleSet::add(TrainItem item)
{
    m_memory.push_back(std::move(item));
    m_refs.push_back({kMemory, m_memory.size() - 1});
}

TrainItem ExampleSet::at(std::size_t i) const
{
    const auto& r = m_refs[i];
    if (r.source == kMemory)
        return m_memory[r.index];
    TrainItem item;
    item.rows.push_back(m_caches[r.source]->at(r.index));
    return item;
}

ExampleSet ExampleSet::subset(const std::vector<std::size_t>& indices) const
{
    ExampleSet out;
    out.m_caches = m_caches;
    out.m_memory = m_memory;
    for (auto i : indices)
        out.m_refs.push_back(m_refs[i]);
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// Padding
// ---------------------------------------------------------------------------------------------------------

PaddedRows padRows(const std::vector<const TokenizedExample*>& rows, TokenId padId, const torch::Device& device,
                   std::int64_t multiple, bool alwaysMask)
{
    std::size_t longest = 0;
    for (const auto* r : rows)
        longest = std::max(longest, r->inputIds.size());
    const auto B = std::int64_t(rows.size());
    auto T = std::int64_t(longest);
    if (multiple > 1)
        T = (T + multiple - 1) / multiple * multiple;
    auto ids = torch::full({B, T}, std::int64_t(padId), torch::kLong);
    auto labels = torch::full({B, T}, std::int64_t(kIgnoreIndex), torch::kLong);
    auto mask = torch::zeros({B, T}, torch::kLong);
    PaddedRows out;
    bool padded = false;
    for (std::int64_t i = 0; i < B; ++i) {
        const auto& r = *rows[std::size_t(i)];
        const auto n = std::int64_t(r.inputIds.size());
        auto* pi = ids[i].data_ptr<std::int64_t>();
        auto* pl = labels[i].data_ptr<std::int64_t>();
        auto* pm = mask[i].data_ptr<std::int64_t>();
        for (std::int64_t t = 0; t < n; ++t) {
            pi[t] = r.inputIds[std::size_t(t)];
            pl[t] = r.labels[std::size_t(t)];
            pm[t] = 1;
            if (t > 0 && pl[t] != kIgnoreIndex)
                ++out.labeled;
        }
        padded |= n < T;
        out.tokens += n;
    }
    out.inputIds = ids.to(device);
    out.labels = labels.to(device);
    if (padded || alwaysMask)
        out.attentionMask = mask.to(device);
    return out;
}

namespace {

/// A batch of the padded rows of `examples` examples.
TrainBatch batchOf(PaddedRows padded, std::int64_t examples)
{
    TrainBatch b;
    b.inputIds = std::move(padded.inputIds);
    b.labels = std::move(padded.labels);
    b.attentionMask = std::move(padded.attentionMask);
    b.examples = examples;
    b.tokens = padded.tokens;
    b.labeled = padded.labeled;
    return b;
}

void logIssues(const DataOptions& options, const std::vector<DataIssue>& issues)
{
    if (!options.log)
        return;
    for (const auto& issue : issues)
        options.log("Warning: " + issue.text());
}

/// Loads whole datasets as Examples (pairwise and feedback data, which stay in memory).
std::vector<Example> loadExamples(const DatasetRegistry& registry, const std::string& name, const DataOptions& options)
{
    DatasetLoadOptions load;
    load.stage = options.stage;
    load.seed = options.seed;
    load.log = options.log;
    if (options.maxSamples)
        load.maxSamples = *options.maxSamples;
    auto loaded = loadDataset(registry, name, load);
    logIssues(options, loaded.issues);
    return std::move(loaded.examples);
}

/// LLaMA-Factory's meaning of a dataset for a stage: ranking data only for the pairwise stages.
void checkRanking(const DatasetRegistry& registry, const std::string& name, const std::string& stage)
{
    const auto attr = registry.get(name);
    const bool pairwise = stageUsesRanking(stage);
    if (attr.ranking && !pairwise)
        fail("dataset ", name, ": a ranking dataset (\"ranking\": true in dataset_info.json, chosen/rejected pairs) "
             "is for stage rm or dpo, not ", stage);
    if (!attr.ranking && pairwise)
        fail("dataset ", name, ": stage ", stage, " trains on chosen/rejected pairs, and this dataset is not a "
             "ranking dataset (register it with \"ranking\": true and its chosen/rejected columns)");
}

// ---- sft --------------------------------------------------------------------------------------------------

class SupervisedBuilder : public DataBuilder
{
public:
    void load(const DatasetRegistry& registry, const std::vector<std::string>& names, const Tokenizer&,
              const TemplateEncoder& encoder, const DataOptions& options, ExampleSet& into) const override
    {
        for (const auto& name : names) {
            checkRanking(registry, name, options.stage);
            PreprocessOptions pre;
            pre.process = options.process;
            pre.load.stage = options.stage;
            pre.load.seed = options.seed;
            pre.load.log = options.log;
            pre.workers = options.workers;
            pre.cacheDir = options.cacheDir;
            pre.overwriteCache = options.overwriteCache;
            pre.tokenizerDir = options.modelPath;
            const auto stats = preprocessSupervised(registry, {name}, encoder, pre);
            auto cache = TokenCache::open(stats.cachePath);
            std::size_t n = cache->size();
            if (options.maxSamples)
                n = std::min<std::size_t>(n, std::size_t(*options.maxSamples));
            for (const auto& d : stats.datasets)
                logIssues(options, d.issues);
            if (options.log)
                options.log("Dataset " + name + ": " + std::to_string(n) + " examples, " +
                            std::to_string(stats.tokens) + " tokens, " + std::to_string(stats.truncated) +
                            " truncated to cutoff_len" + (stats.reused ? " (tokenized cache reused)" : ""));
            into.addCache(std::move(cache), 0, n);
        }
    }

    TrainBatch collate(const std::vector<TrainItem>& items, TokenId padId, const torch::Device& device) const override
    {
        std::vector<const TokenizedExample*> rows;
        for (const auto& item : items)
            rows.push_back(&item.rows.front());
        return batchOf(padRows(rows, padId, device), std::int64_t(items.size()));
    }
};

// ---- pt ---------------------------------------------------------------------------------------------------

class UnsupervisedBuilder : public SupervisedBuilder
{
public:
    void load(const DatasetRegistry& registry, const std::vector<std::string>& names, const Tokenizer& tokenizer,
              const TemplateEncoder& encoder, const DataOptions& options, ExampleSet& into) const override
    {
        DatasetLoadOptions load;
        load.stage = options.stage;
        load.seed = options.seed;
        load.log = options.log;
        const auto eos = encoder.eosId();
        for (const auto& name : names) {
            std::vector<std::string> texts;
            const auto info = scanDataset(registry, name, load, [&](Example&& ex) {
                if (!ex.prompt.empty())
                    texts.push_back(ex.prompt.front().content);
            });
            if (options.maxSamples && std::int64_t(texts.size()) > *options.maxSamples)
                texts.resize(std::size_t(*options.maxSamples));
            if (!eos)
                fail("template ", options.templateName, ": the tokenizer has no EOS token for pretraining");
            for (auto& e : encodePretrain(tokenizer, texts, options.cutoffLen, options.packing, *eos))
                into.add(TrainItem{{std::move(e)}, true});
            if (options.log)
                options.log("Dataset " + name + ": " + std::to_string(texts.size()) + " texts, " +
                            std::to_string(info.dropped()) + " records dropped");
        }
    }
};

// ---- rm, dpo ----------------------------------------------------------------------------------------------

class PairwiseBuilder : public DataBuilder
{
public:
    void load(const DatasetRegistry& registry, const std::vector<std::string>& names, const Tokenizer&,
              const TemplateEncoder& encoder, const DataOptions& options, ExampleSet& into) const override
    {
        for (const auto& name : names) {
            checkRanking(registry, name, options.stage);
            const auto examples = loadExamples(registry, name, options);
            std::int64_t truncated = 0, tokens = 0;
            for (const auto& ex : examples) {
                auto pair = encodePairwise(encoder, ex, options.process);
                truncated += pair.chosen.truncated || pair.rejected.truncated;
                tokens += std::int64_t(pair.chosen.inputIds.size() + pair.rejected.inputIds.size());
                into.add(TrainItem{{std::move(pair.chosen), std::move(pair.rejected)}, true});
            }
            if (options.log)
                options.log("Dataset " + name + ": " + std::to_string(examples.size()) + " pairs, " +
                            std::to_string(tokens) + " tokens, " + std::to_string(truncated) +
                            " truncated to cutoff_len");
        }
    }

    TrainBatch collate(const std::vector<TrainItem>& items, TokenId padId, const torch::Device& device) const override
    {
        // PairwiseDataCollatorWithPadding: every chosen row, then every rejected row; pad_to_multiple_of=8.
        std::vector<const TokenizedExample*> rows;
        for (const auto& item : items)
            rows.push_back(&item.rows[0]);
        for (const auto& item : items)
            rows.push_back(&item.rows[1]);
        return batchOf(padRows(rows, padId, device, 8, true), std::int64_t(items.size()));
    }
};

// ---- kto --------------------------------------------------------------------------------------------------

class FeedbackBuilder : public DataBuilder
{
public:
    void load(const DatasetRegistry& registry, const std::vector<std::string>& names, const Tokenizer&,
              const TemplateEncoder& encoder, const DataOptions& options, ExampleSet& into) const override
    {
        for (const auto& name : names) {
            checkRanking(registry, name, options.stage);
            if (registry.get(name).ktoTag.empty())
                fail("dataset ", name, ": stage kto needs a kto_tag column (true for a desirable answer, false for "
                     "an undesirable one); set \"columns\": {\"kto_tag\": ...} in dataset_info.json");
            const auto examples = loadExamples(registry, name, options);
            if (examples.empty())
                continue;
            // LLaMA-Factory pairs each prompt with the previous answer within a datasets.map batch of 1000.
            std::int64_t desirable = 0;
            constexpr std::size_t kMapBatch = 1000;
            for (std::size_t b0 = 0; b0 < examples.size(); b0 += kMapBatch) {
                const std::vector<Example> part(examples.begin() + std::ptrdiff_t(b0),
                                                examples.begin() + std::ptrdiff_t(std::min(examples.size(), b0 + kMapBatch)));
                for (auto& f : encodeFeedback(encoder, part, options.process)) {
                    desirable += f.desirable;
                    into.add(TrainItem{{std::move(f.example), std::move(f.kl)}, f.desirable});
                }
            }
            if (options.log)
                options.log("Dataset " + name + ": " + std::to_string(examples.size()) + " examples (" +
                            std::to_string(desirable) + " desirable, " +
                            std::to_string(std::int64_t(examples.size()) - desirable) + " undesirable)");
        }
    }

    TrainBatch collate(const std::vector<TrainItem>& items, TokenId padId, const torch::Device& device) const override
    {
        std::vector<const TokenizedExample*> target, kl;
        std::vector<std::int64_t> tags;
        for (const auto& item : items) {
            target.push_back(&item.rows[0]);
            kl.push_back(&item.rows[1]);
            tags.push_back(item.desirable ? 1 : 0);
        }
        auto b = batchOf(padRows(target, padId, device, 8, true), std::int64_t(items.size()));
        auto k = padRows(kl, padId, device, 8, true);
        b.klInputIds = k.inputIds;
        b.klLabels = k.labels;
        b.klAttentionMask = k.attentionMask;
        b.desirable = torch::tensor(tags, torch::kLong).to(torch::kBool).to(device);
        return b;
    }
};

} // namespace

ExampleSet packSupervised(const ExampleSet& examples, std::int64_t cutoffLen, TokenId padId)
{
    std::vector<TokenizedExample> rows;
    for (std::size_t i = 0; i < examples.size(); ++i)
        rows.push_back(examples.at(i).rows.front());
    ExampleSet packed;
    for (auto& p : packExamples(rows, cutoffLen, false, padId))
        packed.add(TrainItem{{TokenizedExample{std::move(p.inputIds), std::move(p.labels), false}}, true});
    return packed;
}

std::pair<ExampleSet, ExampleSet> splitForEvaluation(const ExampleSet& examples, double valSize, std::uint64_t seed)
{
    // The same seeded shuffle as splitValidation, on indices.
    const auto [order, evalCount] = validationOrder(examples.size(), valSize, seed);
    return {examples.subset({order.begin() + std::ptrdiff_t(evalCount), order.end()}),
            examples.subset({order.begin(), order.begin() + std::ptrdiff_t(evalCount)})};
}

std::unique_ptr<DataBuilder> makeDataBuilder(StageData kind)
{
    switch (kind) {
    case StageData::Supervised:
        return std::make_unique<SupervisedBuilder>();
    case StageData::Unsupervised:
        return std::make_unique<UnsupervisedBuilder>();
    case StageData::Pairwise:
        return std::make_unique<PairwiseBuilder>();
    case StageData::Feedback:
        return std::make_unique<FeedbackBuilder>();
    }
    fail("unknown kind of training data");
}

} // namespace lathe

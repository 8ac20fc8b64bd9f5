// Examples to training sequences, as LLaMA-Factory's processors build them (data/processor/*.py, reference
// sections 3.6 and 3.7): supervised (prompt masked with -100, infer_seqlen truncation, train_on_prompt,
// mask_history, efficient EOS), pretraining (text + EOS, cut into cutoff_len blocks), pairwise
// (chosen/rejected), and packing / neat packing (greedy knapsack, restarting position ids, sub-sequence
// indices for a block-diagonal attention mask).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "data/converter.h"
#include "template/template_encoder.h"

namespace lathe {

constexpr TokenId kIgnoreIndex = -100;

/// LLaMA-Factory's infer_seqlen: how many source and target tokens fit in `cutoff` (both cut from the end).
std::pair<std::int64_t, std::int64_t> inferSeqlen(std::int64_t sourceLen, std::int64_t targetLen,
                                                  std::int64_t cutoff);

struct ProcessOptions
{
    std::int64_t cutoffLen = 2048; ///< `cutoff_len`
    bool trainOnPrompt = false;    ///< `train_on_prompt`
    bool maskHistory = false;      ///< `mask_history`: learn only the last turn
    ChatOptions chat;              ///< enable_thinking and friends
};

struct TokenizedExample
{
    std::vector<TokenId> inputIds;
    std::vector<TokenId> labels; ///< kIgnoreIndex where not learned
    bool truncated = false;      ///< some turn lost tokens to cutoff_len
};

/// One supervised example (prompt odd length, one response). Throws lathe::Error on a malformed example.
TokenizedExample encodeSupervised(const TemplateEncoder& encoder, const Example& example,
                                  const ProcessOptions& options);

struct PairwiseExample
{
    TokenizedExample chosen, rejected;
};

/// A pairwise (rm/dpo/orpo) example: prompt + chosen and prompt + rejected, the prompt masked.
PairwiseExample encodePairwise(const TemplateEncoder& encoder, const Example& example,
                               const ProcessOptions& options);

struct FeedbackExample
{
    TokenizedExample example; ///< prompt + the answer (labels on the answer)
    TokenizedExample kl;      ///< prompt + an unrelated answer, for the KL estimate
    bool desirable = true;    ///< kto_tag
};

/// KTO examples (LLaMA-Factory's feedback processor): desirable when the first response is non-empty; the
/// KL pair of example i uses the response of example i-1 (the last one's for the first), as LLaMA-Factory
/// rotates the responses of a batch. Every example needs ktoTag.
std::vector<FeedbackExample> encodeFeedback(const TemplateEncoder& encoder,
                                            const std::vector<Example>& examples,
                                            const ProcessOptions& options);

/// Unsupervised (prediction): input = the prompt with an empty assistant turn, labels = the response ids
/// (LLaMA-Factory's unsupervised processor, used for predict_with_generate).
TokenizedExample encodeUnsupervised(const TemplateEncoder& encoder, const Example& example,
                                    const ProcessOptions& options);

/// Pretraining: each text + EOS. Without packing each is cut to cutoff_len (BOS first when the tokenizer adds
/// one); with packing all are concatenated and cut into cutoff_len blocks, the remainder dropped.
std::vector<TokenizedExample> encodePretrain(const Tokenizer& tokenizer,
                                             const std::vector<std::string>& texts, std::int64_t cutoffLen,
                                             bool packing, TokenId eosId);

/// greedy_knapsack: groups of indices whose lengths sum to at most `capacity` (sort ascending, fill each
/// knapsack with the largest length that still fits).
std::vector<std::vector<std::size_t>> greedyKnapsack(const std::vector<std::int64_t>& lengths,
                                                     std::int64_t capacity);

struct PackedSequence
{
    std::vector<TokenId> inputIds;
    std::vector<TokenId> labels;
    std::vector<std::int64_t> positionIds; ///< restart at 0 for each sub-sequence
    std::vector<std::int64_t>
        attentionMask; ///< 1 (packing) or the sub-sequence index 1, 2, ... (neat); 0 = pad
};

/// Packs supervised examples into sequences of exactly cutoffLen + 1 tokens (LLaMA-Factory's padding),
/// dropping those longer than cutoffLen. `padId` fills the tail.
std::vector<PackedSequence> packExamples(const std::vector<TokenizedExample>& examples,
                                         std::int64_t cutoffLen, bool neat, TokenId padId);

/// A training view: consecutive tokens grouped by whether they are learned, each group's text decoded.
struct LabeledSpan
{
    std::string text;
    bool learned = false;
    std::int64_t tokens = 0;
};
std::vector<LabeledSpan> labeledSpans(const Tokenizer& tokenizer, const TokenizedExample& example);

} // namespace lathe

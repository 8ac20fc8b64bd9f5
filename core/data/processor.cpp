#include "data/processor.h"

#include <algorithm>

#include "util/error.h"

namespace lathe {

std::pair<std::int64_t, std::int64_t> inferSeqlen(std::int64_t sourceLen, std::int64_t targetLen,
                                                  std::int64_t cutoff)
{
    std::int64_t maxTarget;
    if (targetLen * 2 < cutoff)
        maxTarget = cutoff; // short target: the source is truncated
    else if (sourceLen * 2 < cutoff)
        maxTarget = cutoff - sourceLen; // short source: the target is truncated
    else // int() in Python truncates toward zero; both factors are non-negative here
        maxTarget = std::int64_t(double(cutoff) * (double(targetLen) / double(sourceLen + targetLen)));
    const std::int64_t newTarget = std::min(maxTarget, targetLen);
    const std::int64_t newSource = std::min(std::max<std::int64_t>(cutoff - newTarget, 0), sourceLen);
    return {newSource, newTarget};
}

namespace {

Conversation conversationOf(const Example& ex, const std::vector<Message>& response)
{
    Conversation c;
    c.system = ex.system;
    c.tools = ex.tools;
    c.messages = ex.prompt;
    c.messages.insert(c.messages.end(), response.begin(), response.end());
    return c;
}

} // namespace

TokenizedExample encodeSupervised(const TemplateEncoder& encoder, const Example& ex,
                                  const ProcessOptions& options)
{
    if (ex.prompt.size() % 2 != 1 || ex.response.size() != 1)
        fail("record ", ex.record,
             ": a supervised example needs an odd number of prompt turns and one response");
    if (options.trainOnPrompt && options.maskHistory)
        fail("train_on_prompt and mask_history cannot both be set");
    const bool efficientEos = encoder.chatTemplate().efficientEos;
    const auto eos = encoder.eosId();
    if (efficientEos && !eos)
        fail("template \"", encoder.chatTemplate().name, "\" needs an EOS token the tokenizer does not have");

    ChatOptions chat = options.chat;
    chat.discardHistoryCot = options.maskHistory && !chat.preserveThinking;
    auto pairs = encoder.encodeMultiturn(conversationOf(ex, ex.response), chat);
    if (options.maskHistory)
        std::reverse(pairs.begin(), pairs.end()); // the last turn gets the budget first

    TokenizedExample out;
    std::int64_t total = efficientEos ? 1 : 0;
    for (std::size_t turn = 0; turn < pairs.size(); ++turn) {
        if (total >= options.cutoffLen) {
            out.truncated = true;
            break;
        }
        auto& src = pairs[turn].prompt;
        auto& tgt = pairs[turn].response;
        const auto [sLen, tLen] =
            inferSeqlen(std::int64_t(src.size()), std::int64_t(tgt.size()), options.cutoffLen - total);
        if (sLen < std::int64_t(src.size()) || tLen < std::int64_t(tgt.size()))
            out.truncated = true;
        src.resize(std::size_t(sLen));
        tgt.resize(std::size_t(tLen));
        total += sLen + tLen;

        std::vector<TokenId> srcLabels;
        if (options.trainOnPrompt)
            srcLabels = src;
        else if (efficientEos && turn != 0) {
            srcLabels.assign(src.size(), kIgnoreIndex);
            if (!srcLabels.empty())
                srcLabels[0] = *eos;
        } else
            srcLabels.assign(src.size(), kIgnoreIndex);
        std::vector<TokenId> tgtLabels =
            (options.maskHistory && turn != 0) ? std::vector<TokenId>(tgt.size(), kIgnoreIndex) : tgt;

        std::vector<TokenId> ids = src, labels = srcLabels;
        ids.insert(ids.end(), tgt.begin(), tgt.end());
        labels.insert(labels.end(), tgtLabels.begin(), tgtLabels.end());
        if (options.maskHistory) {
            ids.insert(ids.end(), out.inputIds.begin(), out.inputIds.end());
            labels.insert(labels.end(), out.labels.begin(), out.labels.end());
            out.inputIds = std::move(ids);
            out.labels = std::move(labels);
        } else {
            out.inputIds.insert(out.inputIds.end(), ids.begin(), ids.end());
            out.labels.insert(out.labels.end(), labels.begin(), labels.end());
        }
    }
    if (efficientEos) {
        out.inputIds.push_back(*eos);
        out.labels.push_back(*eos);
    }
    return out;
}

PairwiseExample encodePairwise(const TemplateEncoder& encoder, const Example& ex,
                               const ProcessOptions& options)
{
    if (ex.prompt.size() % 2 != 1 || ex.response.size() < 2)
        fail("record ", ex.record,
             ": a pairwise example needs an odd number of prompt turns and chosen/rejected");
    auto chosen = encoder.encodeOneturn(conversationOf(ex, {ex.response[0]}), options.chat);
    auto rejected = encoder.encodeOneturn(conversationOf(ex, {ex.response[1]}), options.chat);
    auto prompt = chosen.prompt;
    const bool efficientEos = encoder.chatTemplate().efficientEos;
    if (efficientEos && encoder.eosId()) {
        chosen.response.push_back(*encoder.eosId());
        rejected.response.push_back(*encoder.eosId());
    }
    const auto lengths = inferSeqlen(
        std::int64_t(prompt.size()), std::int64_t(std::max(chosen.response.size(), rejected.response.size())),
        options.cutoffLen);
    const std::int64_t sLen = lengths.first, tLen = lengths.second; // C++17 lambdas cannot capture bindings
    PairwiseExample out;
    auto build = [&](const std::vector<TokenId>& response, TokenizedExample& t) {
        t.truncated = sLen < std::int64_t(prompt.size()) || tLen < std::int64_t(response.size());
        t.inputIds.assign(prompt.begin(), prompt.begin() + sLen);
        t.labels.assign(std::size_t(sLen), kIgnoreIndex);
        const auto n = std::min<std::size_t>(response.size(), std::size_t(tLen));
        t.inputIds.insert(t.inputIds.end(), response.begin(), response.begin() + n);
        t.labels.insert(t.labels.end(), response.begin(), response.begin() + n);
    };
    build(chosen.response, out.chosen);
    build(rejected.response, out.rejected);
    return out;
}

namespace {

// prompt + response (one turn, encode_oneturn), efficient EOS appended, then infer_seqlen on the pair.
TokenizedExample encodeOneturnTruncated(const TemplateEncoder& encoder, const Example& ex,
                                        const Message& answer, const ProcessOptions& options,
                                        bool labelsAreResponse)
{
    auto pair = encoder.encodeOneturn(conversationOf(ex, {answer}), options.chat);
    if (encoder.chatTemplate().efficientEos && encoder.eosId())
        pair.response.push_back(*encoder.eosId());
    const auto [sLen, tLen] =
        inferSeqlen(std::int64_t(pair.prompt.size()), std::int64_t(pair.response.size()), options.cutoffLen);
    TokenizedExample t;
    t.truncated = sLen < std::int64_t(pair.prompt.size()) || tLen < std::int64_t(pair.response.size());
    pair.prompt.resize(std::size_t(sLen));
    pair.response.resize(std::size_t(tLen));
    if (labelsAreResponse) { // unsupervised: the model sees the prompt, the labels are the answer
        t.inputIds = pair.prompt;
        t.labels = pair.response;
        return t;
    }
    t.inputIds = pair.prompt;
    t.inputIds.insert(t.inputIds.end(), pair.response.begin(), pair.response.end());
    t.labels.assign(pair.prompt.size(), kIgnoreIndex);
    t.labels.insert(t.labels.end(), pair.response.begin(), pair.response.end());
    return t;
}

} // namespace

std::vector<FeedbackExample> encodeFeedback(const TemplateEncoder& encoder,
                                            const std::vector<Example>& examples,
                                            const ProcessOptions& options)
{
    std::vector<FeedbackExample> out;
    out.reserve(examples.size());
    for (std::size_t i = 0; i < examples.size(); ++i) {
        const auto& ex = examples[i];
        if (ex.prompt.size() % 2 != 1 || ex.response.size() != 2 || !ex.ktoTag)
            fail("record ", ex.record,
                 ": a KTO example needs an odd number of prompt turns, a kto_tag and its answer");
        const auto& klSource = examples[(i + examples.size() - 1) % examples.size()];
        FeedbackExample f;
        f.desirable = !ex.response[0].content.empty();
        f.example = encodeOneturnTruncated(encoder, ex, ex.response[f.desirable ? 0 : 1], options, false);
        const auto& klAnswer = klSource.response[klSource.response[0].content.empty() ? 1 : 0];
        f.kl = encodeOneturnTruncated(encoder, ex, klAnswer, options, false);
        out.push_back(std::move(f));
    }
    return out;
}

TokenizedExample encodeUnsupervised(const TemplateEncoder& encoder, const Example& ex,
                                    const ProcessOptions& options)
{
    if (ex.prompt.size() % 2 != 1)
        fail("record ", ex.record, ": a prompt needs an odd number of turns (ending with a user turn)");
    const Message answer = ex.response.size() == 1 ? ex.response[0] : Message{Role::Assistant, ""};
    return encodeOneturnTruncated(encoder, ex, answer, options, true);
}

std::vector<TokenizedExample> encodePretrain(const Tokenizer& tokenizer,
                                             const std::vector<std::string>& texts, std::int64_t cutoffLen,
                                             bool packing, TokenId eosId)
{
    std::vector<TokenizedExample> out;
    const bool addBos = tokenizer.addBosToken && tokenizer.bosId;
    if (!packing) {
        for (const auto& text : texts) {
            TokenizedExample t;
            if (addBos)
                t.inputIds.push_back(*tokenizer.bosId);
            auto ids = tokenizer.encode(text);
            t.inputIds.insert(t.inputIds.end(), ids.begin(), ids.end());
            t.inputIds.push_back(eosId);
            if (std::int64_t(t.inputIds.size()) > cutoffLen) {
                t.inputIds.resize(std::size_t(cutoffLen));
                t.truncated = true;
            }
            t.labels = t.inputIds;
            out.push_back(std::move(t));
        }
        return out;
    }
    std::vector<TokenId> all;
    for (const auto& text : texts) {
        auto ids = tokenizer.encode(text);
        all.insert(all.end(), ids.begin(), ids.end());
        all.push_back(eosId);
    }
    const std::size_t blocks = all.size() / std::size_t(cutoffLen);
    for (std::size_t b = 0; b < blocks; ++b) {
        TokenizedExample t;
        t.inputIds.assign(all.begin() + std::ptrdiff_t(b * cutoffLen),
                          all.begin() + std::ptrdiff_t((b + 1) * cutoffLen));
        if (addBos)
            t.inputIds[0] = *tokenizer.bosId;
        t.labels = t.inputIds;
        out.push_back(std::move(t));
    }
    return out;
}

std::vector<std::vector<std::size_t>> greedyKnapsack(const std::vector<std::int64_t>& lengths,
                                                     std::int64_t capacity)
{
    // LLaMA-Factory sorts the lengths, then repeatedly opens a knapsack and takes the largest remaining
    // length that fits (bisect on the sorted list) until none does.
    std::vector<std::size_t> order(lengths.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return lengths[a] < lengths[b]; });
    std::vector<std::vector<std::size_t>> knapsacks;
    while (!order.empty()) {
        std::vector<std::size_t> knapsack;
        std::int64_t left = capacity;
        for (;;) {
            // rightmost index with length <= left (bisect_right - 1)
            auto it = std::upper_bound(order.begin(), order.end(), left,
                                       [&](std::int64_t v, std::size_t idx) { return v < lengths[idx]; });
            if (it == order.begin())
                break;
            --it;
            left -= lengths[*it];
            knapsack.push_back(*it);
            order.erase(it);
        }
        if (knapsack.empty())
            break; // only items longer than capacity remain (callers drop them first)
        knapsacks.push_back(std::move(knapsack));
    }
    return knapsacks;
}

std::vector<PackedSequence> packExamples(const std::vector<TokenizedExample>& examples,
                                         std::int64_t cutoffLen, bool neat, TokenId padId)
{
    std::vector<std::int64_t> lengths;
    std::vector<std::size_t> kept;
    for (std::size_t i = 0; i < examples.size(); ++i) {
        if (std::int64_t(examples[i].inputIds.size()) > cutoffLen)
            continue; // LLaMA-Factory drops examples longer than cutoff_len when packing
        lengths.push_back(std::int64_t(examples[i].inputIds.size()));
        kept.push_back(i);
    }
    std::vector<PackedSequence> out;
    for (const auto& group : greedyKnapsack(lengths, cutoffLen)) {
        PackedSequence p;
        std::int64_t seq = 0;
        for (auto g : group) {
            const auto& ex = examples[kept[g]];
            ++seq;
            p.inputIds.insert(p.inputIds.end(), ex.inputIds.begin(), ex.inputIds.end());
            p.labels.insert(p.labels.end(), ex.labels.begin(), ex.labels.end());
            for (std::size_t t = 0; t < ex.inputIds.size(); ++t) {
                p.positionIds.push_back(std::int64_t(t));
                p.attentionMask.push_back(neat ? seq : 1);
            }
        }
        const std::size_t target = std::size_t(cutoffLen) + 1;
        while (p.inputIds.size() < target) {
            p.inputIds.push_back(padId);
            p.labels.push_back(kIgnoreIndex);
            p.positionIds.push_back(0);
            p.attentionMask.push_back(neat ? 0 : 1);
        }
        out.push_back(std::move(p));
    }
    return out;
}

std::vector<LabeledSpan> labeledSpans(const Tokenizer& tokenizer, const TokenizedExample& ex)
{
    std::vector<LabeledSpan> spans;
    std::size_t i = 0;
    while (i < ex.inputIds.size()) {
        const bool learned = ex.labels[i] != kIgnoreIndex;
        std::size_t j = i;
        while (j < ex.inputIds.size() && (ex.labels[j] != kIgnoreIndex) == learned)
            ++j;
        std::vector<TokenId> ids(ex.inputIds.begin() + std::ptrdiff_t(i),
                                 ex.inputIds.begin() + std::ptrdiff_t(j));
        spans.push_back({tokenizer.decode(ids), learned, std::int64_t(j - i)});
        i = j;
    }
    return spans;
}

} // namespace lathe

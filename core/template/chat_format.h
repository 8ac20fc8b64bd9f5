// Formatting a conversation with a chat template, as LLaMA-Factory's Template.encode_multiturn /
// encode_oneturn do, stopping one step short of token ids: each turn comes out as slots (text and special
// tokens). template_encoder.h turns the slots into ids with a tokenizer; renderSlots() writes them as text
// (special tokens as their token text) so a result can be read and compared with a reference string.
//
// The three template classes are here: the plain Template, Llama2Template (system merged into the first
// user turn) and ReasoningTemplate (enable_thinking, empty "<think>\n\n</think>\n\n" blocks learned or
// put in the prompt, chain of thought stripped from history turns).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "template/chat_template.h"
#include "template/conversation.h"

namespace lathe {

/// Data/template arguments that change how a conversation is formatted (LLaMA-Factory's names).
struct ChatOptions
{
    /// `enable_thinking`: true (default) learns an empty think block on answers without one; false puts it
    /// in the prompt and strips chain of thought; nullopt (None, "mixed") keeps CoT where the data has it
    /// and puts an unlearned empty block in the prompt elsewhere. Only ReasoningTemplate reads it.
    std::optional<bool> enableThinking = true;
    /// `mask_history and not preserve_thinking`: CoT removed from all but the last turn, and only the last
    /// turn gets the empty-CoT treatment (encodeMultiturn).
    bool discardHistoryCot = false;
    /// `preserve_thinking`: encodeOneturn keeps the CoT of history turns.
    bool preserveThinking = false;
    /// `default_system` data argument: replaces the template's default system prompt when set.
    std::optional<std::string> defaultSystem;
    /// "Today Date" of the llama3 tool prompt ("18 Aug 2026"); empty means today.
    std::string toolDate;
};

/// One (prompt, response) pair of slots: the prompt is masked in training, the response is learned.
struct TurnSlots
{
    Slots prompt;
    Slots response;
};

/// Each message formatted on its own (Template._encode before ids): prefix and system go with message 0.
/// Throws lathe::Error for an empty conversation or turns out of order (even positions must be
/// user/observation, odd ones assistant/function).
std::vector<Slots> formatMessages(const ChatTemplate& tpl, const Conversation& conversation,
                                  const ChatOptions& options = {});

/// encode_multiturn: one pair per (user, assistant) turn. Needs an even number of messages.
std::vector<TurnSlots> formatMultiturn(const ChatTemplate& tpl, const Conversation& conversation,
                                       const ChatOptions& options = {});

/// encode_oneturn: every message but the last as the prompt, the last as the response.
TurnSlots formatOneturn(const ChatTemplate& tpl, const Conversation& conversation,
                        const ChatOptions& options = {});

/// The prompt a chat model continues: the conversation (ending with a user or observation turn) plus an
/// empty assistant turn, through encode_oneturn (so enable_thinking=false ends it with an empty think
/// block).
Slots formatGenerationPrompt(const ChatTemplate& tpl, const Conversation& conversation,
                             const ChatOptions& options = {});

/// The assistant text without its `<think>...</think>` blocks (ReasoningTemplate.remove_thought).
std::string removeThought(const ChatTemplate& tpl, const std::string& content);

/// The model's own special-token text, for rendering; empty means the tokenizer has none.
struct SpecialTokenText
{
    std::string bos;
    std::string eos; ///< the tokenizer's EOS; replace_eos templates substitute their first stop word
};

/// Slots as text: text slots verbatim, {"token": x} as x, BOS/EOS as `bos`/`eos` (skipped when empty).
std::string renderSlots(const Slots& slots, const std::string& bos, const std::string& eos);

/// A rendered (prompt, response) pair.
struct TurnText
{
    std::string prompt;
    std::string response;
};

/// formatMultiturn rendered as text with the model's special tokens.
std::vector<TurnText> renderMultiturn(const ChatTemplate& tpl, const Conversation& conversation,
                                      const SpecialTokenText& tokens, const ChatOptions& options = {});

/// formatGenerationPrompt rendered as text.
std::string renderGenerationPrompt(const ChatTemplate& tpl, const Conversation& conversation,
                                   const SpecialTokenText& tokens, const ChatOptions& options = {});

} // namespace lathe

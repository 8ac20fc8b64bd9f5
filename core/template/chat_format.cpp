// Formatting conversations into per-turn slots (see chat_format.h).
#include "chat_format.h"

#include "template/tool_format.h"
#include "util/error.h"

namespace lathe {

namespace {

/// StringFormatter.apply: in every text slot, the first occurrence of each {{name}} is replaced, names in
/// the order given (content first, then idx).
Slots substitute(const Slots& slots, const std::vector<std::pair<std::string, std::string>>& values)
{
    Slots out = slots;
    for (Slot& slot : out) {
        if (slot.kind != Slot::Kind::Text)
            continue;
        for (const auto& [name, value] : values) {
            const std::string placeholder = "{{" + name + "}}";
            const std::size_t at = slot.text.find(placeholder);
            if (at != std::string::npos)
                slot.text.replace(at, placeholder.size(), value);
        }
    }
    return out;
}

void append(Slots& to, const Slots& from)
{
    to.insert(to.end(), from.begin(), from.end());
}

std::string stripped(const std::string& text)
{
    const char* ws = " \t\n\r\f\v";
    const std::size_t begin = text.find_first_not_of(ws);
    if (begin == std::string::npos)
        return {};
    return text.substr(begin, text.find_last_not_of(ws) - begin + 1);
}

/// The first `open(.*?)close` match in `text` (DOTALL): [begin, end) of the whole match, or npos.
std::pair<std::size_t, std::size_t> findDelimited(const std::string& text, const std::string& open,
                                                  const std::string& close, std::size_t from = 0)
{
    const std::size_t begin = text.find(open, from);
    if (begin == std::string::npos)
        return {std::string::npos, std::string::npos};
    const std::size_t closeAt = text.find(close, begin + open.size());
    if (closeAt == std::string::npos)
        return {std::string::npos, std::string::npos};
    return {begin, closeAt + close.size()};
}

/// Python's str.replace(old, "") (every occurrence).
std::string removeAll(std::string text, const std::string& old)
{
    if (old.empty())
        return text;
    std::size_t at = 0;
    while ((at = text.find(old, at)) != std::string::npos)
        text.erase(at, old.size());
    return text;
}

/// FunctionFormatter.apply: the call JSON re-written in the template's tool format. With `useWords`
/// (every class but Llama2Template), a <tool_call> block or a thought in the content is honoured: the
/// text around the call (e.g. a chain of thought) is kept in front of the formatted call.
std::string formatFunctionContent(const ChatTemplate& tpl, const std::string& content, bool useWords)
{
    if (useWords) {
        const auto [callBegin, callEnd] =
            findDelimited(content, tpl.toolCallWords.first, tpl.toolCallWords.second);
        if (callBegin != std::string::npos) {
            const std::string match = content.substr(callBegin, callEnd - callBegin);
            const std::string body =
                match.substr(tpl.toolCallWords.first.size(),
                             match.size() - tpl.toolCallWords.first.size() - tpl.toolCallWords.second.size());
            return removeAll(content, match) +
                   formatToolCalls(tpl.toolFormat, parseFunctionMessage(stripped(body)));
        }
        const auto [thoughtBegin, thoughtEnd] =
            findDelimited(content, tpl.thoughtWords.first, tpl.thoughtWords.second);
        if (thoughtBegin != std::string::npos) {
            const std::string thought = content.substr(thoughtBegin, thoughtEnd - thoughtBegin);
            return thought +
                   formatToolCalls(tpl.toolFormat, parseFunctionMessage(removeAll(content, thought)));
        }
    }
    return formatToolCalls(tpl.toolFormat, parseFunctionMessage(content));
}

void checkOrder(const Conversation& conversation)
{
    if (conversation.messages.empty())
        fail("Conversation has no messages.");
    for (std::size_t i = 0; i < conversation.messages.size(); ++i) {
        const Role role = conversation.messages[i].role;
        const bool promptSide = role == Role::User || role == Role::Observation;
        if (promptSide != (i % 2 == 0))
            fail("Conversation message ", i, " is a ", roleName(role), " turn; turns must alternate: ",
                 i % 2 == 0 ? "user or observation" : "assistant or function", " expected at position ", i,
                 ".");
    }
}

bool hasThought(const ChatTemplate& tpl, const std::string& content)
{
    return content.find(stripped(tpl.thoughtWords.first)) != std::string::npos ||
           content.find(stripped(tpl.thoughtWords.second)) != std::string::npos;
}

Slot emptyThought(const ChatTemplate& tpl)
{
    return Slot::str(tpl.thoughtWords.first + tpl.thoughtWords.second);
}

/// ReasoningTemplate: the empty think block goes into the prompt (not learned) when thinking is off or
/// mixed, and in front of the response (learned) when it is on.
void addEmptyThought(const ChatTemplate& tpl, const ChatOptions& options, Slots& prompt, Slots& response)
{
    if (!options.enableThinking.value_or(false))
        prompt.push_back(emptyThought(tpl));
    else
        response.insert(response.begin(), emptyThought(tpl));
}

} // namespace

std::string removeThought(const ChatTemplate& tpl, const std::string& content)
{
    std::string out;
    std::size_t pos = 0;
    while (true) {
        const auto [begin, end] =
            findDelimited(content, tpl.thoughtWords.first, tpl.thoughtWords.second, pos);
        if (begin == std::string::npos)
            break;
        out += content.substr(pos, begin - pos);
        pos = end;
    }
    out += content.substr(pos);
    const std::size_t first = out.find_first_not_of('\n');
    return first == std::string::npos ? std::string() : out.substr(first);
}

std::vector<Slots> formatMessages(const ChatTemplate& tpl, const Conversation& conversation,
                                  const ChatOptions& options)
{
    checkOrder(conversation);
    const std::string system = !conversation.system.empty()
                                   ? conversation.system
                                   : options.defaultSystem.value_or(tpl.defaultSystem);
    const bool llama2 = tpl.templateClass == TemplateClass::Llama2;

    std::vector<Slots> encoded;
    for (std::size_t i = 0; i < conversation.messages.size(); ++i) {
        const Message& message = conversation.messages[i];
        Slots elements;
        std::string systemText; // Llama2Template: merged into the first user turn
        if (i == 0) {
            append(elements, tpl.formatPrefix);
            if (!system.empty() || !conversation.tools.empty()) {
                const std::string toolText =
                    conversation.tools.empty()
                        ? std::string()
                        : formatToolPrompt(tpl.toolFormat, conversation.tools, options.toolDate);
                const Slots systemSlots = substitute(tpl.formatSystem, {{"content", system + toolText}});
                if (llama2) {
                    if (systemSlots.empty() || systemSlots.front().kind != Slot::Kind::Text)
                        fail("Template ", tpl.name, ": format_system must start with text.");
                    systemText = systemSlots.front().text;
                } else {
                    append(elements, systemSlots);
                }
            }
        }
        switch (message.role) {
        case Role::User:
            if (llama2)
                append(elements, substitute(tpl.formatUser, {{"content", systemText + message.content}}));
            else
                append(elements, substitute(tpl.formatUser,
                                            {{"content", message.content}, {"idx", std::to_string(i / 2)}}));
            break;
        case Role::Assistant:
            append(elements, substitute(tpl.formatAssistant, {{"content", message.content}}));
            break;
        case Role::Observation:
            append(elements, substitute(tpl.formatObservation, {{"content", message.content}}));
            break;
        case Role::Function:
            append(elements, substitute(tpl.formatFunction,
                                        {{"content", formatFunctionContent(tpl, message.content, !llama2)}}));
            break;
        }
        encoded.push_back(std::move(elements));
    }
    return encoded;
}

std::vector<TurnSlots> formatMultiturn(const ChatTemplate& tpl, const Conversation& conversation,
                                       const ChatOptions& options)
{
    if (conversation.messages.size() % 2 != 0)
        fail("Conversation has an odd number of messages (", conversation.messages.size(),
             "): encode_multiturn needs (prompt, response) pairs; use the generation prompt for an open "
             "turn.");
    const bool reasoning = tpl.templateClass == TemplateClass::Reasoning;
    Conversation conv = conversation;
    const std::size_t last = conv.messages.size() - 1;
    if (reasoning) {
        for (std::size_t i = 1; i < conv.messages.size(); i += 2) {
            const bool history = i != last;
            if (options.enableThinking == false || (options.discardHistoryCot && history))
                conv.messages[i].content = removeThought(tpl, conv.messages[i].content);
        }
    }
    const std::vector<Slots> encoded = formatMessages(tpl, conv, options);
    std::vector<TurnSlots> turns;
    for (std::size_t i = 0; i + 1 < encoded.size(); i += 2) {
        TurnSlots turn{encoded[i], encoded[i + 1]};
        const bool treated = !options.discardHistoryCot || i + 1 == last;
        if (reasoning && treated && !hasThought(tpl, conv.messages[i + 1].content))
            addEmptyThought(tpl, options, turn.prompt, turn.response);
        turns.push_back(std::move(turn));
    }
    return turns;
}

TurnSlots formatOneturn(const ChatTemplate& tpl, const Conversation& conversation, const ChatOptions& options)
{
    const bool reasoning = tpl.templateClass == TemplateClass::Reasoning;
    Conversation conv = conversation;
    if (reasoning && !conv.messages.empty()) {
        if (!options.preserveThinking)
            for (std::size_t i = 1; i + 2 < conv.messages.size(); i += 2)
                conv.messages[i].content = removeThought(tpl, conv.messages[i].content);
        if (options.enableThinking == false)
            conv.messages.back().content = removeThought(tpl, conv.messages.back().content);
    }
    const std::vector<Slots> encoded = formatMessages(tpl, conv, options);
    TurnSlots turn;
    for (std::size_t i = 0; i + 1 < encoded.size(); ++i)
        append(turn.prompt, encoded[i]);
    turn.response = encoded.back();
    if (reasoning && !hasThought(tpl, conv.messages.back().content))
        addEmptyThought(tpl, options, turn.prompt, turn.response);
    return turn;
}

Slots formatGenerationPrompt(const ChatTemplate& tpl, const Conversation& conversation,
                             const ChatOptions& options)
{
    if (conversation.messages.size() % 2 == 0)
        fail("The generation prompt needs a conversation ending with a user or observation turn (got ",
             conversation.messages.size(), " messages).");
    Conversation conv = conversation;
    conv.messages.push_back({Role::Assistant, ""});
    return formatOneturn(tpl, conv, options).prompt;
}

std::string renderSlots(const Slots& slots, const std::string& bos, const std::string& eos)
{
    std::string out;
    for (const Slot& slot : slots) {
        switch (slot.kind) {
        case Slot::Kind::Text:
        case Slot::Kind::Token:
            out += slot.text;
            break;
        case Slot::Kind::Bos:
            out += bos;
            break;
        case Slot::Kind::Eos:
            out += eos;
            break;
        }
    }
    return out;
}

std::vector<TurnText> renderMultiturn(const ChatTemplate& tpl, const Conversation& conversation,
                                      const SpecialTokenText& tokens, const ChatOptions& options)
{
    const std::string eos = effectiveEosToken(tpl, tokens.eos);
    std::vector<TurnText> out;
    for (const TurnSlots& turn : formatMultiturn(tpl, conversation, options))
        out.push_back(
            {renderSlots(turn.prompt, tokens.bos, eos), renderSlots(turn.response, tokens.bos, eos)});
    return out;
}

std::string renderGenerationPrompt(const ChatTemplate& tpl, const Conversation& conversation,
                                   const SpecialTokenText& tokens, const ChatOptions& options)
{
    return renderSlots(formatGenerationPrompt(tpl, conversation, options), tokens.bos,
                       effectiveEosToken(tpl, tokens.eos));
}

} // namespace lathe

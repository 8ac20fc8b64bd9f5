// LLaMA-Factory templates <-> Jinja chat templates (see template_jinja.h).
#include "template/template_jinja.h"

#include "tokenizer/tokenizer.h"
#include "util/error.h"
#include "util/utf8.h"

namespace lathe {

// ============================================================================================================
// get_jinja_template
// ============================================================================================================

namespace {

/// A Jinja string literal: LLaMA-Factory escapes only the quote; backslashes and newlines are escaped too
/// here, so the text means the same in every Jinja implementation (trim_blocks never eats a newline in it).
std::string quote(const std::string& text)
{
    std::string out = "'";
    for (const char c : text) {
        switch (c) {
        case '\'': out += "\\'"; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default: out += c;
        }
    }
    return out + "'";
}

/// _convert_slots_to_jinja: the slots as one Jinja expression ('text' + content + 'text' + ...).
std::string slotsExpression(const Slots& slots, const SpecialTokenText& tokens, const std::string& placeholder = "content")
{
    std::vector<std::string> items;
    for (const Slot& slot : slots) {
        switch (slot.kind) {
        case Slot::Kind::Text: {
            const std::string marker = "{{content}}";
            const size_t at = slot.text.find(marker);
            const std::string before = at == std::string::npos ? slot.text : slot.text.substr(0, at);
            if (!before.empty())
                items.push_back(quote(before));
            if (at != std::string::npos) {
                items.push_back(placeholder);
                // LLaMA-Factory keeps the piece up to a second {{content}} (split()[1]); so does this.
                std::string after = slot.text.substr(at + marker.size());
                const size_t again = after.find(marker);
                if (again != std::string::npos)
                    after.resize(again);
                if (!after.empty())
                    items.push_back(quote(after));
            }
            break;
        }
        case Slot::Kind::Token: items.push_back(quote(slot.text)); break;
        case Slot::Kind::Bos:
            if (!tokens.bos.empty())
                items.push_back(quote(tokens.bos));
            break;
        case Slot::Kind::Eos:
            if (!tokens.eos.empty())
                items.push_back(quote(tokens.eos));
            break;
        }
    }
    std::string out;
    for (size_t i = 0; i < items.size(); ++i)
        out += (i ? " + " : "") + items[i];
    return out;
}

} // namespace

std::string jinjaFromTemplate(const ChatTemplate& tpl, const SpecialTokenText& tokens)
{
    const std::string prefix = slotsExpression(tpl.formatPrefix, tokens);
    const std::string system = slotsExpression(tpl.formatSystem, tokens, "system_message");
    const std::string user = slotsExpression(tpl.formatUser, tokens);
    const std::string assistant = slotsExpression(tpl.formatAssistant, tokens);
    const bool reasoning = tpl.templateClass == TemplateClass::Reasoning;

    std::string j;
    if (!prefix.empty())
        j += "{{ " + prefix + " }}";
    if (!tpl.defaultSystem.empty())
        j += "{% set system_message = " + quote(tpl.defaultSystem) + " %}";
    j += "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
         "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% endif %}";
    if (tpl.templateClass != TemplateClass::Llama2)
        j += "{% if system_message is defined %}{{ " + (system.empty() ? std::string("''") : system) + " }}{% endif %}";
    j += "{% for message in loop_messages %}";
    if (tpl.templateClass == TemplateClass::Llama2)
        j += "{% if loop.index0 == 0 and system_message is defined %}{% set content = " +
             (system.empty() ? std::string("''") : system) +
             " + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}";
    else
        j += "{% set content = message['content'] %}";
    if (reasoning) {
        // ReasoningTemplate.encode_oneturn: the thought of history turns is not part of the prompt.
        const std::string open = quote(tpl.thoughtWords.first), close = quote(tpl.thoughtWords.second);
        j += "{% if message['role'] == 'assistant' and not loop.last and " + open + " in content and " + close +
             " in content %}{% set content = content.split(" + open + ")[0] + content.split(" + close +
             ")[1:]|join(" + close + ") %}{% endif %}";
    }
    j += "{% if message['role'] == 'user' %}{{ " + (user.empty() ? std::string("''") : user) + " }}";
    j += "{% elif message['role'] == 'assistant' %}{{ " + (assistant.empty() ? std::string("''") : assistant) +
         " }}{% endif %}";
    j += "{% endfor %}";
    if (reasoning) {
        // With enable_thinking false the prompt ends with the empty thought block (not learned, given).
        j += "{% if enable_thinking is defined and enable_thinking is false and loop_messages|length > 0 and "
             "loop_messages[-1]['role'] == 'user' %}{{ " +
             quote(tpl.thoughtWords.first + tpl.thoughtWords.second) + " }}{% endif %}";
    }
    return j;
}

// ============================================================================================================
// parse_template
// ============================================================================================================

namespace {

using Text32 = std::u32string;

/// Python's s[n:] on code points (empty past the end).
Text32 from(const Text32& s, size_t n) { return n >= s.size() ? Text32() : s.substr(n); }

/// find_diff: the characters of `longStr` skipped while matching `shortStr` against it in order.
Text32 findDiff(const Text32& shortStr, const Text32& longStr)
{
    size_t i = 0, j = 0;
    Text32 diff;
    while (i < shortStr.size() && j < longStr.size()) {
        if (shortStr[i] == longStr[j]) {
            ++i;
            ++j;
        } else {
            diff += longStr[j];
            ++j;
        }
    }
    return diff;
}

Text32 replaceAll(Text32 s, const Text32& what, const Text32& with)
{
    for (size_t at = 0; (at = s.find(what, at)) != Text32::npos; at += with.size())
        s.replace(at, what.size(), with);
    return s;
}

nlohmann::ordered_json message(const char* role, const std::string& content)
{
    return {{"role", role}, {"content", content}};
}

} // namespace

ChatTemplate templateFromJinja(const HfChatTemplate& hf, const Tokenizer& tokenizer, const std::string& name)
{
    using Json = nlohmann::ordered_json;
    const std::string placeholder = "{{content}}";
    auto render = [&](Json messages, bool generation) {
        HfChatOptions options;
        options.addGenerationPrompt = generation;
        return utf8::toCodePoints(hf.render(messages, options));
    };

    EncodeOptions withSpecials;
    withSpecials.addSpecialTokens = true;
    Text32 prefix = utf8::toCodePoints(tokenizer.decode(tokenizer.encode("", withSpecials), false));
    // Beyond LLaMA-Factory: a template that writes {{ bos_token }} itself, with a tokenizer whose post-processor
    // adds none (older Llama 3 tokenizer.json files), has the BOS as its prefix too, not inside every user turn.
    const Text32 bos = utf8::toCodePoints(hf.tokens().bos);
    if (prefix.empty() && !bos.empty()) {
        const Text32 first = render(Json::array({message("user", placeholder)}), true);
        if (first.compare(0, bos.size(), bos) == 0)
            prefix = bos;
    }

    const Text32 systemSlot = from(render(Json::array({message("system", placeholder)}), false), prefix.size());
    const Text32 userSlotEmptySystem =
        from(render(Json::array({message("system", ""), message("user", placeholder)}), true), prefix.size());
    Text32 userSlot = from(render(Json::array({message("user", placeholder)}), true), prefix.size());
    Text32 assistantSlot =
        from(render(Json::array({message("user", placeholder), message("assistant", placeholder)}), false),
             prefix.size() + userSlot.size());
    const bool reasoning = assistantSlot.find(U"<think>") != Text32::npos;
    assistantSlot = replaceAll(replaceAll(assistantSlot, U"<think>", U""), U"</think>", U"");
    const size_t firstNonNewline = assistantSlot.find_first_not_of(U'\n');
    assistantSlot = firstNonNewline == Text32::npos ? Text32() : assistantSlot.substr(firstNonNewline);

    Text32 defaultSystem;
    if (userSlot.size() > userSlotEmptySystem.size()) {
        defaultSystem = findDiff(userSlotEmptySystem, userSlot);
        Text32 soleSystem = systemSlot;
        const size_t at = soleSystem.find(utf8::toCodePoints(placeholder));
        if (at != Text32::npos)
            soleSystem.replace(at, placeholder.size(), defaultSystem);
        userSlot = from(userSlot, soleSystem.size());
    }

    ChatTemplate t;
    t.name = name;
    t.templateClass = reasoning ? TemplateClass::Reasoning : TemplateClass::Plain;
    t.formatUser = {Slot::str(utf8::fromCodePoints(userSlot))};
    t.formatAssistant = {Slot::str(utf8::fromCodePoints(assistantSlot))};
    t.formatSystem = {Slot::str(utf8::fromCodePoints(systemSlot))};
    t.formatFunction = t.formatAssistant;
    t.formatObservation = t.formatUser;
    if (!prefix.empty())
        t.formatPrefix = {Slot::str(utf8::fromCodePoints(prefix))};
    // Beyond parse_template (which always says `default`): the tool format the Jinja itself writes calls in.
    const std::string& source = hf.source();
    if (source.find("<tool_call>") != std::string::npos)
        t.toolFormat = ToolFormat::Qwen;
    else if (source.find("[TOOL_CALLS]") != std::string::npos)
        t.toolFormat = ToolFormat::Mistral;
    else if (source.find("<|observation|>") != std::string::npos)
        t.toolFormat = ToolFormat::Glm4;
    else if (source.find("<|python_tag|>") != std::string::npos || source.find("ipython") != std::string::npos)
        t.toolFormat = ToolFormat::Llama3;
    else
        t.toolFormat = ToolFormat::Default;
    t.defaultSystem = utf8::fromCodePoints(defaultSystem);
    // Beyond parse_template: the special token that closes an assistant turn ends generation.
    const std::string assistantText = utf8::fromCodePoints(assistantSlot);
    for (const std::string& candidate : {std::string("<|im_end|>"), std::string("<|eot_id|>"), std::string("<|end|>"),
                                         std::string("<end_of_turn>"), std::string("<|endoftext|>")}) {
        const size_t at = assistantText.rfind(candidate);
        if (at == std::string::npos || candidate == tokenizer.eosToken)
            continue;
        const std::string tail = assistantText.substr(at + candidate.size());
        if (tail.find_first_not_of("\n") == std::string::npos && tokenizer.tokenToId(candidate)) {
            t.stopWords.push_back(candidate);
            break;
        }
    }
    return t;
}

bool isAutoTemplateName(const std::string& name)
{
    return name.empty() || name == "auto" || name == "jinja" || name.rfind("jinja:", 0) == 0;
}

ChatTemplate resolveChatTemplate(const std::string& name, const Tokenizer& tokenizer, const std::string& modelName,
                                 std::string* note)
{
    if (!isAutoTemplateName(name))
        return chatTemplate(name);
    if (tokenizer.chatTemplate.empty()) {
        if (note)
            *note = "template: auto: " + modelName + " has no chat template; using the empty template";
        ChatTemplate t = chatTemplate("empty");
        return t;
    }
    const HfChatTemplate hf = HfChatTemplate::fromTokenizer(tokenizer, modelName);
    ChatTemplate t = templateFromJinja(hf, tokenizer, "auto");
    if (note)
        *note = "template: auto: parsed from " + modelName + "'s chat template (LLaMA-Factory's parse_template)";
    return t;
}

// ============================================================================================================
// Agreement and exports
// ============================================================================================================

namespace {

/// The first place two texts differ, for messages.
std::string firstDifference(const std::string& expected, const std::string& got)
{
    size_t i = 0;
    while (i < expected.size() && i < got.size() && expected[i] == got[i])
        ++i;
    const size_t from = i > 20 ? i - 20 : 0;
    auto excerpt = [&](const std::string& s) {
        return nlohmann::json(s.substr(from, 80)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    return "at byte " + std::to_string(i) + ": training writes " + excerpt(expected) + ", the Jinja writes " +
           excerpt(got);
}

} // namespace

bool jinjaAgreesWithTemplate(const HfChatTemplate& hf, const ChatTemplate& tpl, const SpecialTokenText& tokens,
                             std::string* why)
{
    struct Probe
    {
        const char* name;
        Conversation conversation;
    };
    std::vector<Probe> probes;
    probes.push_back({"one user turn", {"", "", {{Role::User, "Hi"}}}});
    probes.push_back({"system and user", {"You are helpful.", "", {{Role::User, "Hi"}}}});
    probes.push_back({"two turns", {"", "", {{Role::User, "Hi"}, {Role::Assistant, "Hello!"}, {Role::User, "2+2?"}}}});
    probes.push_back({"system and two turns",
                      {"You are helpful.", "", {{Role::User, "Hi"}, {Role::Assistant, "Hello!"}, {Role::User, "2+2?"}}}});
    if (tpl.templateClass == TemplateClass::Reasoning)
        probes.push_back({"a thought in history",
                          {"", "",
                           {{Role::User, "Hi"},
                            {Role::Assistant, tpl.thoughtWords.first + "greet" + tpl.thoughtWords.second + "Hello!"},
                            {Role::User, "2+2?"}}}});
    std::vector<std::optional<bool>> thinking = {std::nullopt};
    if (tpl.templateClass == TemplateClass::Reasoning)
        thinking = {true, false};
    for (const Probe& probe : probes) {
        for (const auto& think : thinking) {
            ChatOptions options;
            HfChatOptions hfOptions;
            hfOptions.addGenerationPrompt = true;
            if (think) {
                options.enableThinking = *think;
                hfOptions.extra["enable_thinking"] = *think;
            }
            const std::string expected = renderGenerationPrompt(tpl, probe.conversation, tokens, options);
            std::string got;
            try {
                got = hf.render(hfMessages(probe.conversation), hfOptions);
            } catch (const jinja::JinjaError& e) {
                if (why)
                    *why = std::string(probe.name) + ": the Jinja fails: " + e.what();
                return false;
            }
            if (got != expected) {
                if (why)
                    *why = std::string(probe.name) + (think ? (*think ? " (thinking on)" : " (thinking off)") : "") +
                           ": " + firstDifference(expected, got);
                return false;
            }
        }
    }
    return true;
}

ExportChatTemplate exportChatTemplate(const ChatTemplate& tpl, const Tokenizer& tokenizer, const std::string& modelName)
{
    return exportChatTemplate(tpl, tokenizer.chatTemplate,
                              {tokenizer.bosId ? tokenizer.bosToken : std::string(),
                               tokenizer.eosId ? tokenizer.eosToken : std::string(), tokenizer.unkToken,
                               tokenizer.padToken},
                              modelName);
}

ExportChatTemplate exportChatTemplate(const ChatTemplate& tpl, const std::string& modelJinja,
                                      const HfSpecialTokens& modelTokens, const std::string& modelName)
{
    SpecialTokenText tokens;
    tokens.bos = modelTokens.bos;
    tokens.eos = effectiveEosToken(tpl, modelTokens.eos);
    ExportChatTemplate out;
    const std::string generated = jinjaFromTemplate(tpl, tokens);
    if (modelJinja.empty()) {
        out = {generated, true, ExportChatTemplate::Why::TokenizerHasNone, {},
               "the tokenizer has no chat template: the " + tpl.name + " template is written as Jinja"};
        return out;
    }
    if (tpl.replaceJinjaTemplate) {
        out = {generated, true, ExportChatTemplate::Why::TemplateReplaces, {},
               "the " + tpl.name + " template replaces the tokenizer's chat template (as LLaMA-Factory does)"};
        return out;
    }
    std::string why;
    bool agrees = false;
    try {
        agrees = jinjaAgreesWithTemplate(HfChatTemplate(modelJinja, modelTokens, modelName + " chat_template"), tpl,
                                         tokens, &why);
    } catch (const jinja::JinjaError& e) {
        why = std::string("the tokenizer's chat template does not parse: ") + e.what();
    }
    if (agrees) {
        out = {modelJinja, false, ExportChatTemplate::Why::TokenizerAgrees, {},
               "the tokenizer's chat template writes the same prompts as the " + tpl.name + " template: kept"};
        return out;
    }
    out = {generated, true, ExportChatTemplate::Why::TokenizerDiffers, why,
           "the tokenizer's chat template differs from the " + tpl.name + " template used in training (" + why +
               "): the " + tpl.name + " template is written as Jinja"};
    return out;
}

} // namespace lathe

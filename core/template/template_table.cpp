// The chat templates, as data: LLaMA-Factory's `register_template` calls for the templates Lathe ships,
// with the exact strings of shared/docs/llamaboard-reference.md section 3.2.
//
// Each entry only states what differs from register_template's defaults, and `finish` applies those
// defaults the way LLaMA-Factory does: user "{{content}}"; assistant "{{content}}" + EOS ("{{content}}"
// alone with efficient_eos); system "{{content}}" (the user *default*, not format_user); observation =
// format_user; function = the assistant slots. To add a template, add one entry here.
#include "chat_template.h"

#include <optional>

#include "util/error.h"

namespace lathe {

namespace {

/// One register_template call: unset formatters take LLaMA-Factory's defaults.
struct Entry
{
    std::string name;
    TemplateClass templateClass = TemplateClass::Plain;
    std::optional<Slots> user, assistant, system, function, observation, prefix;
    ToolFormat toolFormat = ToolFormat::Default;
    std::string defaultSystem;
    std::vector<std::string> stopWords;
    bool efficientEos = false;
    bool replaceEos = false;
    bool replaceJinjaTemplate = false;
};

ChatTemplate finish(const Entry& e)
{
    const Slots content = {Slot::str("{{content}}")};
    Slots defaultAssistant = content;
    if (!e.efficientEos)
        defaultAssistant.push_back(Slot::eos());

    ChatTemplate t;
    t.name = e.name;
    t.templateClass = e.templateClass;
    t.formatUser = e.user.value_or(content);
    t.formatAssistant = e.assistant.value_or(defaultAssistant);
    t.formatSystem = e.system.value_or(content);
    t.formatFunction = e.function.value_or(t.formatAssistant);
    t.formatObservation = e.observation.value_or(t.formatUser);
    t.formatPrefix = e.prefix.value_or(Slots{});
    t.toolFormat = e.toolFormat;
    t.defaultSystem = e.defaultSystem;
    t.stopWords = e.stopWords;
    t.efficientEos = e.efficientEos;
    t.replaceEos = e.replaceEos;
    t.replaceJinjaTemplate = e.replaceJinjaTemplate;
    return t;
}

Slot s(const char* text)
{
    return Slot::str(text);
}
const Slot kBos = Slot::bos();
const Slot kEos = Slot::eos();

// ChatML as Qwen writes it: shared by qwen, qwen3 and qwen3_nothink.
Entry qwenFamily(const char* name, TemplateClass cls, const char* defaultSystem)
{
    Entry e;
    e.name = name;
    e.templateClass = cls;
    e.user = Slots{s("<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n")};
    e.assistant = Slots{s("{{content}}<|im_end|>\n")};
    e.system = Slots{s("<|im_start|>system\n{{content}}<|im_end|>\n")};
    e.function = Slots{s("{{content}}<|im_end|>\n")};
    e.observation = Slots{s("<|im_start|>user\n<tool_response>\n{{content}}\n</"
                            "tool_response><|im_end|>\n<|im_start|>assistant\n")};
    e.toolFormat = ToolFormat::Qwen;
    e.defaultSystem = defaultSystem;
    e.stopWords = {"<|im_end|>"};
    e.replaceEos = true;
    return e;
}

Entry gemmaFamily(const char* name, std::vector<std::string> stopWords, bool efficientEos)
{
    Entry e;
    e.name = name;
    e.templateClass = TemplateClass::Llama2;
    e.user = Slots{s("<start_of_turn>user\n{{content}}<end_of_turn>\n<start_of_turn>model\n")};
    e.assistant = Slots{s("{{content}}<end_of_turn>\n")};
    e.system = Slots{s("{{content}}\n\n")};
    e.observation = Slots{s("<start_of_turn>tool\n{{content}}<end_of_turn>\n<start_of_turn>model\n")};
    e.prefix = Slots{kBos};
    e.stopWords = std::move(stopWords);
    e.efficientEos = efficientEos;
    e.replaceEos = !efficientEos;
    return e;
}

Entry deepseekFamily(const char* name, TemplateClass cls)
{
    Entry e;
    e.name = name;
    e.templateClass = cls;
    e.user = Slots{s("<｜User｜>{{content}}<｜Assistant｜>")};
    e.prefix = Slots{kBos};
    return e;
}

std::vector<Entry> entries()
{
    std::vector<Entry> list;

    list.push_back(qwenFamily("qwen3", TemplateClass::Reasoning, ""));
    list.push_back(qwenFamily("qwen3_nothink", TemplateClass::Plain, ""));
    list.push_back(qwenFamily("qwen", TemplateClass::Plain,
                              "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."));

    {
        Entry e;
        e.name = "llama3";
        e.user = Slots{s("<|start_header_id|>user<|end_header_id|>\n\n{{content}}<|eot_id|>"
                         "<|start_header_id|>assistant<|end_header_id|>\n\n")};
        e.assistant = Slots{s("{{content}}<|eot_id|>")};
        e.system = Slots{s("<|start_header_id|>system<|end_header_id|>\n\n{{content}}<|eot_id|>")};
        e.function = Slots{s("{{content}}<|eot_id|>")};
        e.observation = Slots{s("<|start_header_id|>ipython<|end_header_id|>\n\n{{content}}<|eot_id|>"
                                "<|start_header_id|>assistant<|end_header_id|>\n\n")};
        e.toolFormat = ToolFormat::Llama3;
        e.prefix = Slots{kBos};
        e.stopWords = {"<|eot_id|>", "<|eom_id|>"};
        e.replaceEos = true;
        list.push_back(e);
    }
    {
        Entry e;
        e.name = "llama2";
        e.templateClass = TemplateClass::Llama2;
        e.user = Slots{kBos, s("[INST] {{content}} [/INST]")};
        e.system = Slots{s("<<SYS>>\n{{content}}\n<</SYS>>\n\n")};
        list.push_back(e);
    }
    {
        Entry e;
        e.name = "mistral";
        e.templateClass = TemplateClass::Llama2;
        e.user = Slots{s("[INST] {{content}}[/INST]")};
        e.assistant = Slots{s(" {{content}}"), kEos};
        e.system = Slots{s("{{content}}\n\n")};
        e.function = Slots{s("[TOOL_CALLS] {{content}}"), kEos};
        e.observation = Slots{s("[TOOL_RESULTS] {\"content\": {{content}}}[/TOOL_RESULTS]")};
        e.toolFormat = ToolFormat::Mistral;
        e.prefix = Slots{kBos};
        list.push_back(e);
    }
    {
        Entry e;
        e.name = "chatml";
        e.user = Slots{s("<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n")};
        e.assistant = Slots{s("{{content}}<|im_end|>\n")};
        e.system = Slots{s("<|im_start|>system\n{{content}}<|im_end|>\n")};
        e.observation = Slots{s("<|im_start|>tool\n{{content}}<|im_end|>\n<|im_start|>assistant\n")};
        e.stopWords = {"<|im_end|>", "<|im_start|>"};
        e.replaceEos = true;
        e.replaceJinjaTemplate = true;
        list.push_back(e);
    }
    {
        Entry e;
        e.name = "default";
        e.user = Slots{s("Human: {{content}}"), kEos, s("\nAssistant:")};
        e.assistant = Slots{s("{{content}}"), kEos, s("\n")};
        e.system = Slots{s("System: {{content}}"), kEos, s("\n")};
        e.replaceJinjaTemplate = true;
        list.push_back(e);
    }
    {
        Entry e;
        e.name = "alpaca";
        e.user = Slots{s("### Instruction:\n{{content}}\n\n### Response:\n")};
        e.assistant = Slots{s("{{content}}"), kEos, s("\n\n")};
        e.defaultSystem =
            "Below is an instruction that describes a task. Write a response that appropriately "
            "completes the request.\n\n";
        e.replaceJinjaTemplate = true;
        list.push_back(e);
    }
    {
        Entry e;
        e.name = "empty";
        e.assistant = Slots{s("{{content}}")};
        list.push_back(e);
    }
    {
        // Benchmark prompts for base models (lathe eval): each solved example's answer followed by a blank line.
        Entry e;
        e.name = "fewshot";
        e.assistant = Slots{s("{{content}}\n\n")};
        e.efficientEos = true;
        list.push_back(e);
    }
    list.push_back(deepseekFamily("deepseek3", TemplateClass::Plain));
    list.push_back(deepseekFamily("deepseekr1", TemplateClass::Reasoning));
    // Gemma (1, 3 text) and Gemma 2: the same strings; Gemma 2 stops at <eos> too, with an efficient EOS.
    list.push_back(gemmaFamily("gemma", {"<end_of_turn>"}, false));
    list.push_back(gemmaFamily("gemma2", {"<eos>", "<end_of_turn>"}, true));
    list.push_back(gemmaFamily("gemma3", {"<end_of_turn>"}, false));
    // Phi-3 (phi, phi_small), Phi-4 (phi4), Phi-4-mini (phi4_mini).
    for (const bool small : {false, true}) {
        Entry e;
        e.name = small ? "phi_small" : "phi";
        e.user = Slots{s("<|user|>\n{{content}}<|end|>\n<|assistant|>\n")};
        e.assistant = Slots{s("{{content}}<|end|>\n")};
        e.system = Slots{s("<|system|>\n{{content}}<|end|>\n")};
        if (small)
            e.prefix = Slots{Slot::token("<|endoftext|>")};
        e.stopWords = {"<|end|>"};
        e.replaceEos = true;
        list.push_back(e);
    }
    {
        Entry e;
        e.name = "phi4";
        e.user = Slots{s("<|im_start|>user<|im_sep|>{{content}}<|im_end|><|im_start|>assistant<|im_sep|>")};
        e.assistant = Slots{s("{{content}}<|im_end|>")};
        e.system = Slots{s("<|im_start|>system<|im_sep|>{{content}}<|im_end|>")};
        e.stopWords = {"<|im_end|>"};
        e.replaceEos = true;
        list.push_back(e);
    }
    {
        Entry e;
        e.name = "phi4_mini";
        e.user = Slots{s("<|user|>{{content}}<|end|><|assistant|>")};
        e.assistant = Slots{s("{{content}}<|end|>")};
        e.system = Slots{s("<|system|>{{content}}<|end|>")};
        e.stopWords = {"<|end|>"};
        e.replaceEos = true;
        list.push_back(e);
    }
    {
        Entry e;
        e.name = "glm4";
        e.user = Slots{s("<|user|>\n{{content}}<|assistant|>")};
        e.assistant = Slots{s("\n{{content}}")};
        e.system = Slots{s("<|system|>\n{{content}}")};
        e.function = Slots{s("{{content}}")};
        e.observation = Slots{s("<|observation|>\n{{content}}<|assistant|>")};
        e.toolFormat = ToolFormat::Glm4;
        e.prefix = Slots{s("[gMASK]<sop>")};
        e.stopWords = {"<|user|>", "<|observation|>"};
        e.efficientEos = true;
        list.push_back(e);
    }
    return list;
}

const std::vector<ChatTemplate>& table()
{
    static const std::vector<ChatTemplate> templates = [] {
        std::vector<ChatTemplate> out;
        for (const Entry& e : entries())
            out.push_back(finish(e));
        return out;
    }();
    return templates;
}

} // namespace

const ChatTemplate& chatTemplate(const std::string& name)
{
    for (const ChatTemplate& t : table())
        if (t.name == name)
            return t;
    std::string known;
    for (const ChatTemplate& t : table())
        known += (known.empty() ? "" : ", ") + t.name;
    fail("Template ", name, " does not exist. Known templates: ", known);
}

bool hasChatTemplate(const std::string& name)
{
    for (const ChatTemplate& t : table())
        if (t.name == name)
            return true;
    return false;
}

std::vector<std::string> chatTemplateNames()
{
    std::vector<std::string> names;
    for (const ChatTemplate& t : table())
        names.push_back(t.name);
    return names;
}

std::string effectiveEosToken(const ChatTemplate& tpl, const std::string& tokenizerEos)
{
    if (tpl.replaceEos) {
        if (tpl.stopWords.empty())
            fail("Template ", tpl.name, ": stop words are required to replace the EOS token.");
        return tpl.stopWords.front();
    }
    return tokenizerEos.empty() ? std::string("<|endoftext|>") : tokenizerEos;
}

} // namespace lathe

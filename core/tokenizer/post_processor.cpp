// tokenizer.json post-processors (see post_processor.h).
#include "tokenizer/post_processor.h"

#include <cstdint>

#include <nlohmann/json.hpp>

#include "tokenizer/json_fields.h"
#include "util/error.h"

namespace lathe {

namespace {

using nlohmann::json;

class NoOpProcessor final : public PostProcessor
{
public:
    void process(std::vector<TokenId>&) const override {}
};

// The "single" template: a list of fixed ids and one $A slot.
class TemplateProcessor final : public PostProcessor
{
public:
    TemplateProcessor(std::vector<TokenId> before, std::vector<TokenId> after)
        : m_before(std::move(before)), m_after(std::move(after))
    {
    }
    void process(std::vector<TokenId>& ids) const override
    {
        ids.insert(ids.begin(), m_before.begin(), m_before.end());
        ids.insert(ids.end(), m_after.begin(), m_after.end());
    }

private:
    std::vector<TokenId> m_before, m_after;
};

class SequenceProcessor final : public PostProcessor
{
public:
    explicit SequenceProcessor(std::vector<std::unique_ptr<PostProcessor>> parts) : m_parts(std::move(parts)) {}
    void process(std::vector<TokenId>& ids) const override
    {
        for (const auto& p : m_parts)
            p->process(ids);
    }

private:
    std::vector<std::unique_ptr<PostProcessor>> m_parts;
};

std::unique_ptr<PostProcessor> makeTemplate(const json& node, const std::string& where)
{
    const json& single = requireArray(node, "single", where);
    const json& specials = requireField(node, "special_tokens", where);
    std::vector<TokenId> before, after;
    bool seenSequence = false;
    for (std::size_t i = 0; i < single.size(); ++i) {
        const json& item = single[i];
        const std::string here = cat(where, ".single[", i, "]");
        if (item.is_object() && item.contains("Sequence")) {
            seenSequence = true;
            continue;
        }
        if (!item.is_object() || !item.contains("SpecialToken"))
            fail(here, ": expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
        const std::string name = requireString(item["SpecialToken"], "id", here + ".SpecialToken");
        if (!specials.is_object() || !specials.contains(name))
            fail(where, ".special_tokens: no entry for \"", name, "\"");
        const json& ids = requireArray(specials[name], "ids", cat(where, ".special_tokens[\"", name, "\"]"));
        for (const auto& id : ids) {
            if (!id.is_number_integer())
                fail(where, ".special_tokens[\"", name, "\"].ids: expected integers");
            (seenSequence ? after : before).push_back(id.get<TokenId>());
        }
    }
    return std::make_unique<TemplateProcessor>(std::move(before), std::move(after));
}

// RobertaProcessing / BertProcessing: "sep" and "cls" are [token, id] pairs.
TokenId pairId(const json& node, const char* key, const std::string& where)
{
    const json& pair = requireField(node, key, where);
    if (!pair.is_array() || pair.size() != 2 || !pair[1].is_number_integer())
        fail(where, ".", key, ": expected [\"token\", id]");
    return pair[1].get<TokenId>();
}

} // namespace

std::unique_ptr<PostProcessor> makePostProcessor(const json& node, const std::string& where)
{
    if (node.is_null())
        return nullptr;
    const std::string type = requireType(node, where);
    if (type == "ByteLevel")
        return std::make_unique<NoOpProcessor>();
    if (type == "TemplateProcessing")
        return makeTemplate(node, where);
    if (type == "RobertaProcessing" || type == "BertProcessing")
        return std::make_unique<TemplateProcessor>(std::vector<TokenId>{pairId(node, "cls", where)},
                                                   std::vector<TokenId>{pairId(node, "sep", where)});
    if (type == "Sequence") {
        const json& list = requireArray(node, "processors", where);
        std::vector<std::unique_ptr<PostProcessor>> parts;
        for (std::size_t i = 0; i < list.size(); ++i)
            if (auto p = makePostProcessor(list[i], cat(where, ".processors[", i, "]")))
                parts.push_back(std::move(p));
        return std::make_unique<SequenceProcessor>(std::move(parts));
    }
    fail(where, ": post-processor type \"", type, "\" is not supported");
}

} // namespace lathe

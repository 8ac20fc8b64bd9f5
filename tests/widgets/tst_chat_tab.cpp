// Tests of the Chat tab on the tiny model: load through the top bar, a streamed reply on the worker thread that
// equals ChatEngine's greedy reply for the same conversation (two turns, so the history is checked too), the
// decoding speed shown, Clear history, Stop, the tools check, the folded thought, and Unload.
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTextBrowser>
#include <QCheckBox>
#include <QtTest/QtTest>

#include "chat_runner.h"
#include "chat_tab.h"
#include "compare_panel.h"
#include "config/argument_schema.h"
#include "train/trainer.h"
#include "generation/chat_engine.h"
#include "test_support.h"
#include "widget_input.h"
#include "tiny_model.h"
#include "top_bar.h"

using lathe::ChatTab;
using lathe::TopBar;

class TestChatTab : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void toolsAreValidated();
    void noThinkTemplateTurnsThinkingOff();
    void thoughtIsFolded();
    void chatRoundTrip();
    void compareBaseAndAdapter();

private:
    void setUp(TopBar& bar, ChatTab& tab);
    QString m_model;
};

void TestChatTab::initTestCase()
{
    const QString root = lathe::test::scratchDir("chat_tab");
    m_model = QString::fromStdString(lathe::test::makeTinyModel(root.toStdString()).string());
}

void TestChatTab::setUp(TopBar& bar, ChatTab& tab)
{
    lathe::test::chooseIn(bar.modelNameCombo(), "Custom");
    lathe::test::typeInto(bar.modelPathEdit(), m_model);
    lathe::test::chooseIn(bar.templateCombo(), "qwen");
    lathe::test::chooseIn(bar.finetuningTypeCombo(), "lora");
    tab.setTopBar(&bar);
}

void TestChatTab::toolsAreValidated()
{
    QVERIFY(ChatTab::validateTools("").isEmpty());
    QVERIFY(ChatTab::validateTools("[{\"name\": \"get_weather\", \"parameters\": {}}]").isEmpty());
    QVERIFY(ChatTab::validateTools("[{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]").isEmpty());
    QCOMPARE(ChatTab::validateTools("not json"), QStringLiteral("Invalid JSON schema."));
    QCOMPARE(ChatTab::validateTools("{\"name\": \"f\"}"), QStringLiteral("Invalid JSON schema."));
    QCOMPARE(ChatTab::validateTools("[{\"description\": \"no name\"}]"), QStringLiteral("Tool name not found."));
}

void TestChatTab::thoughtIsFolded()
{
    ChatTab::Entry e;
    e.role = lathe::ChatTurnRole::Assistant;
    e.reasoning = "let me think <carefully>";
    e.streaming = true;
    e.thoughtOpen = true;
    QString html = ChatTab::entryHtml(e, 3);
    QVERIFY(html.contains(QStringLiteral("Thinking…")));
    QVERIFY(html.contains("let me think &lt;carefully&gt;")); // escaped
    QVERIFY(html.contains("toggle:3"));
    e.streaming = false;
    e.thoughtOpen = false;
    e.content = "The answer.";
    html = ChatTab::entryHtml(e, 3);
    QVERIFY(html.contains(QStringLiteral("Thought")));
    QVERIFY(!html.contains(QStringLiteral("Thinking…")));
    QVERIFY(!html.contains("let me think")); // folded
    QVERIFY(html.contains("The answer."));
    // "Escape HTML tags" off: the reply's markup is shown as markup (LLaMA-Board's escape_html).
    e.content = "<b>bold</b>";
    QVERIFY(ChatTab::entryHtml(e, 3).contains("&lt;b&gt;bold&lt;/b&gt;"));
    QVERIFY(ChatTab::entryHtml(e, 3, false).contains("<b>bold</b>"));
    e.toolCalls = "[{\"name\": \"f\", \"arguments\": {\"x\": 1}}]";
    html = ChatTab::entryHtml(e, 3);
    QVERIFY(html.contains("&quot;name&quot;: &quot;f&quot;") || html.contains("\"name\": \"f\""));
}

void TestChatTab::compareBaseAndAdapter()
{
    // An adapter that changes the answers: a few steps at a high learning rate.
    const QString root = lathe::test::scratchDir("chat_compare");
    lathe::test::writeAlpacaDataset(root.toStdString() + "/data", "hi",
                                    {{"Hello", "Lathe here, always."}, {"Who?", "Lathe here, always."}});
    lathe::ArgumentSet a;
    a.set("model_name_or_path", m_model.toStdString());
    a.set("stage", "sft");
    a.set("do_train", "true");
    a.set("finetuning_type", "lora");
    a.set("lora_rank", "8");
    a.set("template", "qwen");
    a.set("dataset", "hi");
    a.set("dataset_dir", root.toStdString() + "/data");
    a.set("output_dir", root.toStdString() + "/adapter");
    a.set("tokenized_path", root.toStdString() + "/cache");
    a.set("max_steps", "30");
    a.set("learning_rate", "5e-2");
    a.set("per_device_train_batch_size", "2");
    lathe::runTraining(a);

    TopBar bar;
    ChatTab tab;
    setUp(bar, tab);
    lathe::test::typeInto(tab.temperatureSpin(), QString::number(0));
    lathe::test::typeInto(tab.maxNewTokensSpin(), QString::number(12));
    lathe::test::typeInto(tab.queryEdit(), "Hello");
    lathe::test::clickOn(tab.compareButton()); // no adapter chosen: refused
    QCOMPARE(tab.status(), QStringLiteral("Please select an adapter."));
    bar.setCheckpoints({root + "/adapter"});

    QSignalSpy finished(tab.comparePanel(), &lathe::ComparePanel::finished);
    lathe::test::clickOn(tab.compareButton());
    QVERIFY(!tab.compareButton()->isEnabled()); // the models load and answer on their workers
    QVERIFY(tab.comparePanel()->isVisible() || !tab.isVisible());
    QVERIFY(finished.wait(60000));
    QVERIFY(tab.compareButton()->isEnabled());

    // Each side is what ChatEngine answers greedily with those weights.
    auto reference = [&](std::vector<std::string> adapters) {
        lathe::ChatModelOptions mo;
        mo.modelDir = m_model.toStdString();
        mo.templateName = "qwen";
        mo.adapters = std::move(adapters);
        lathe::ChatEngine engine(mo);
        lathe::ChatGenerationOptions go;
        go.max_new_tokens = 12;
        go.sampling.do_sample = false;
        lathe::Conversation c;
        c.messages.push_back({lathe::Role::User, "Hello"});
        return QString::fromStdString(engine.chat(c, go).content);
    };
    const QString base = reference({}), adapted = reference({(root + "/adapter").toStdString()});
    QVERIFY(base != adapted);
    QCOMPARE(tab.comparePanel()->answer(lathe::ComparePanel::Base), base);
    QCOMPARE(tab.comparePanel()->answer(lathe::ComparePanel::Adapted), adapted);
    QVERIFY(tab.comparePanel()->titleLabel(lathe::ComparePanel::Adapted)->text().contains("adapter"));
    QVERIFY(tab.comparePanel()->statsLabel(lathe::ComparePanel::Base)->text().contains("tokens/s"));
    QVERIFY(tab.entries().isEmpty()); // the chat history is not touched

    // Again with the models kept loaded; then Close frees them.
    lathe::test::clickOn(tab.compareButton());
    QVERIFY(finished.wait(60000));
    QCOMPARE(tab.comparePanel()->answer(lathe::ComparePanel::Adapted), adapted);
    lathe::test::clickOn(tab.comparePanel()->closeButton());
    QVERIFY(tab.comparePanel()->isHidden());
}

void TestChatTab::chatRoundTrip()
{
    TopBar bar;
    ChatTab tab;
    setUp(bar, tab);
    QVERIFY(!tab.submitButton()->isEnabled());
    lathe::test::clickOn(tab.loadButton());
    QVERIFY(tab.runner()->isBusy()); // loading on the worker, the GUI thread goes on
    QTRY_VERIFY_WITH_TIMEOUT(tab.runner()->isLoaded() && !tab.runner()->isBusy(), 20000);
    QCOMPARE(tab.status(), QStringLiteral("Model loaded, now you can chat with your model!"));
    QVERIFY(tab.submitButton()->isEnabled());

    // An invalid tool list is refused before sending.
    lathe::test::typeInto(tab.toolsEdit(), "[oops");
    lathe::test::typeInto(tab.queryEdit(), "Hello");
    lathe::test::clickOn(tab.submitButton());
    QVERIFY(tab.entries().isEmpty());
    QCOMPARE(tab.status(), QStringLiteral("Invalid JSON schema."));
    tab.toolsEdit()->clear();

    lathe::test::typeInto(tab.temperatureSpin(), QString::number(0));
    lathe::test::typeInto(tab.maxNewTokensSpin(), QString::number(24));
    lathe::test::typeInto(tab.systemEdit(), "You are terse.");

    // The reference: ChatEngine itself, greedy, on the same conversation.
    lathe::ChatModelOptions mo;
    mo.modelDir = m_model.toStdString();
    mo.templateName = "qwen";
    lathe::ChatEngine engine(mo);
    lathe::ChatGenerationOptions go;
    go.max_new_tokens = 24;
    go.sampling.do_sample = false;
    lathe::Conversation conversation;
    conversation.system = "You are terse.";

    QByteArray streamed;
    int deltas = 0;
    connect(tab.runner(), &lathe::ChatRunner::delta, this, [&](const QByteArray&, const QByteArray& c) {
        streamed += c;
        ++deltas;
    });
    QSignalSpy done(&tab, &ChatTab::replyDone);
    for (const char* query : {"Hello", "And again?"}) {
        streamed.clear();
        deltas = 0;
        lathe::test::typeInto(tab.queryEdit(), query);
        if (std::string(query) == "Hello")
            lathe::test::clickOn(tab.submitButton());
        else
            QTest::keyClick(tab.queryEdit(), Qt::Key_Return, Qt::ControlModifier); // the keyboard way
        // Generation runs on the worker: the click returned at once with a streaming entry.
        QVERIFY(tab.runner()->isBusy());
        QVERIFY(tab.entries().last().streaming);
        QVERIFY(tab.stopButton()->isEnabled());
        QVERIFY(!tab.submitButton()->isEnabled());
        QVERIFY(tab.queryEdit()->toPlainText().isEmpty());
        QVERIFY(done.wait(20000));
        QVERIFY(!tab.runner()->isBusy());

        conversation.messages.push_back({lathe::Role::User, query});
        const lathe::ChatReply expected = engine.chat(conversation, go);
        conversation.messages.push_back({lathe::Role::Assistant, expected.text});
        QVERIFY(!expected.content.empty());
        const ChatTab::Entry& reply = tab.entries().last();
        QVERIFY(!reply.streaming);
        QCOMPARE(reply.content.toStdString(), expected.content);
        QCOMPARE(reply.history.toStdString(), expected.text);
        QVERIFY(deltas > 0);
        QCOMPARE(streamed.toStdString(), expected.content); // the deltas add up to the reply
        QVERIFY(reply.stats.contains("tokens/s"));
        QVERIFY(tab.lastTokensPerSecond() > 0);
        QVERIFY(tab.speedLabel()->text().contains("tokens/s"));
    }
    QCOMPARE(tab.entries().size(), 4);
    QVERIFY(tab.chatView()->toPlainText().contains("And again?"));

    lathe::test::clickOn(tab.clearButton());
    QVERIFY(tab.entries().isEmpty());
    QVERIFY(tab.chatView()->toPlainText().trimmed().isEmpty());

    // Stop: a long sampled reply, stopped at its first delta.
    lathe::test::typeInto(tab.temperatureSpin(), QString::number(0.95));
    lathe::test::typeInto(tab.maxNewTokensSpin(), QString::number(400));
    bool stopped = false;
    connect(tab.runner(), &lathe::ChatRunner::delta, this, [&] {
        if (!stopped) {
            stopped = true;
            lathe::test::clickOn(tab.stopButton());
        }
    });
    lathe::test::typeInto(tab.queryEdit(), "Write a long story.");
    lathe::test::clickOn(tab.submitButton());
    QVERIFY(done.wait(20000));
    QVERIFY(stopped);
    QVERIFY(tab.entries().last().stopped);
    QVERIFY(tab.entries().last().stats.contains("stopped"));
    const int tokens = tab.entries().last().stats.section(' ', 0, 0).toInt();
    QVERIFY2(tokens > 0 && tokens < 400, qPrintable(tab.entries().last().stats));

    lathe::test::clickOn(tab.unloadButton());
    QVERIFY(!tab.runner()->isLoaded());
    QVERIFY(!tab.submitButton()->isEnabled());
    QCOMPARE(tab.status(), QStringLiteral("Model unloaded."));
}

void TestChatTab::noThinkTemplateTurnsThinkingOff()
{
    lathe::TopBar bar;
    lathe::ChatTab tab;
    tab.setTopBar(&bar);
    QVERIFY(tab.enableThinkingCheck()->isChecked());
    lathe::test::chooseIn(bar.templateCombo(), "qwen3_nothink");
    QVERIFY(!tab.enableThinkingCheck()->isChecked() && !tab.enableThinkingCheck()->isEnabled());
    lathe::test::chooseIn(bar.templateCombo(), "qwen3");
    QVERIFY(tab.enableThinkingCheck()->isEnabled());

    // LLaMA-Board's Skip special tokens and Escape HTML tags, on by default, and in the request (issue 23, item 12).
    QVERIFY(tab.skipSpecialTokensCheck()->isChecked() && tab.escapeHtmlCheck()->isChecked());
    QVERIFY(tab.request().skipSpecialTokens);
    lathe::test::clickTo(tab.skipSpecialTokensCheck(), false);
    QVERIFY(!tab.request().skipSpecialTokens);

    // Compare with nothing typed says what to do (issue 23, item 10).
    lathe::test::clickOn(tab.compareButton());
    QVERIFY2(tab.status().contains("Type a query"), qPrintable(tab.status()));
}

QTEST_MAIN(TestChatTab)
#include "tst_chat_tab.moc"

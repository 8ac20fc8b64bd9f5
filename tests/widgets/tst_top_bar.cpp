// Tests of the top bar: LLaMA-Board's choices for each picker, filling path and template from the model
// catalogue, listing checkpoints of earlier runs, and asking for a language change.
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
#include <QLineEdit>
#include <QAbstractItemView>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QToolButton>
#include <QPushButton>
#include <QtTest/QtTest>

#include "checkpoint_lister.h"
#include "config/argument_schema.h"
#include "model_arguments.h"
#include "model_selection.h"
#include "test_support.h"
#include "widget_input.h"
#include "tiny_model.h"
#include "top_bar.h"

using lathe::TopBar;

namespace {

QStringList itemTexts(const QComboBox* combo)
{
    QStringList texts;
    for (int i = 0; i < combo->count(); ++i)
        texts << combo->itemText(i);
    return texts;
}

QStringList itemData(const QComboBox* combo)
{
    QStringList data;
    for (int i = 0; i < combo->count(); ++i)
        data << combo->itemData(i).toString();
    return data;
}

void touch(const QString& path)
{
    QDir().mkpath(QFileInfo(path).absolutePath());
    QFile file(path);
    QVERIFY(file.open(QIODevice::WriteOnly));
}

void pickModel(TopBar& bar, const QString& name)
{
    const int index = bar.modelNameCombo()->findText(name);
    QVERIFY2(index >= 0, qPrintable(name));
    lathe::test::chooseIndex(bar.modelNameCombo(), index);
}

} // namespace

class TestTopBar : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    // The line under the model path: what the folder holds, or why it is not a model.
    void modelFolderSummary()
    {
        const QString root = lathe::test::scratchDir("top_bar_summary");
        const QString model = QString::fromStdString(lathe::test::makeTinyModel(root.toStdString()).string());
        TopBar bar;
        lathe::test::typeInto(bar.modelPathEdit(), model);
        const QString text = bar.modelSummaryLabel()->text();
        QVERIFY2(text.contains("Qwen3ForCausalLM") && text.contains("float32") && text.contains("context 512"),
                 qPrintable(text));
        // The tiny model's weights: 300 x 32 embedding + 2 layers ... about 37k float32 values.
        QVERIFY2(text.contains(" parameters"), qPrintable(text));
        lathe::test::typeInto(bar.modelPathEdit(), root + "/tokenizer");
        QVERIFY2(bar.modelSummaryLabel()->text().contains("Not a model folder"), qPrintable(bar.modelSummaryLabel()->text()));
        lathe::test::typeInto(bar.modelPathEdit(), root + "/missing/folder");
        QVERIFY(bar.modelSummaryLabel()->text().contains("does not exist"));
        qputenv("HF_HUB_CACHE", (root + "/empty-cache").toUtf8());
        lathe::test::typeInto(bar.modelPathEdit(), "Qwen/Qwen3-0.6B"); // a hub id not in the cache: Download is offered
        QVERIFY2(bar.modelSummaryLabel()->text().contains("Not downloaded yet"), qPrintable(bar.modelSummaryLabel()->text()));
        QVERIFY(!bar.downloadButton()->isHidden());
        qunsetenv("HF_HUB_CACHE");
    }
    void choicesMirrorLlamaBoard();
    void modelListIsLlamaBoardCatalogue();
    void catalogueModelFillsPathAndTemplate_data();
    void catalogueModelFillsPathAndTemplate();
    void customOrPartialNameKeepsPath();
    void templateComesFromTheModelFolder();
    void checkpointsAreListedFromSavesFolder();
    void refreshKeepsTheChosenCheckpoint();
    void saveDirDropsSpacesFromModelName();
    void languagePickerAsksForChange();
    void loraCheckpointsAreTickedTogether();
    void hubRopeScalingAndDevice();
};

void TestTopBar::loraCheckpointsAreTickedTogether()
{
    const QString saves = lathe::test::scratchDir("top_bar_multi") + "/saves";
    const QString runs = saves + "/Qwen3-0.6B-Base/lora";
    touch(runs + "/train_a/adapter_model.safetensors");
    touch(runs + "/train_a/checkpoint-50/adapter_model.safetensors");
    touch(runs + "/train_b/adapter_model.safetensors");
    TopBar bar;
    bar.resize(900, 200);
    bar.show();
    bar.setSavesRoot(saves);
    pickModel(bar, QStringLiteral("Qwen3-0.6B-Base"));
    QCOMPARE(itemTexts(bar.checkpointCombo()), QStringList({"train_a", "train_a/checkpoint-50", "train_b"}));

    // Clicks in the open list tick items (and keep it open), in the order clicked.
    QComboBox* combo = bar.checkpointCombo();
    combo->showPopup();
    QAbstractItemView* view = combo->view();
    QTRY_VERIFY(view->isVisible());
    auto click = [&](int row) {
        const QRect rect = view->visualRect(view->model()->index(row, 0));
        QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, rect.center());
    };
    click(2);
    click(1);
    QVERIFY(view->isVisible());
    QCOMPARE(bar.checkpoints(), QStringList({"train_b", "train_a/checkpoint-50"}));
    auto* model = static_cast<QStandardItemModel*>(combo->model());
    QCOMPARE(model->item(0)->checkState(), Qt::Unchecked);
    QCOMPARE(model->item(1)->checkState(), Qt::Checked);
    QCOMPARE(model->item(2)->checkState(), Qt::Checked);
    click(2); // untick
    QCOMPARE(bar.checkpoints(), QStringList({"train_a/checkpoint-50"}));
    click(0);
    combo->hidePopup();

    // Both are adapters, stacked in that order, each resolved under the save folder.
    const lathe::ModelSelection s = lathe::modelSelection(&bar);
    QCOMPARE(s.adapters, QStringList({runs + "/train_a/checkpoint-50", runs + "/train_a"}));
    lathe::ArgumentSet args;
    lathe::addModelArguments(&bar, args);
    QCOMPARE(QString::fromStdString(args.getString("adapter_name_or_path")),
             runs + "/train_a/checkpoint-50," + runs + "/train_a");

    // Typing ticks what it names; a refresh keeps the choice.
    lathe::test::typeInto(combo->lineEdit(), QStringLiteral("train_b, train_a"));
    QCOMPARE(model->item(0)->checkState(), Qt::Checked);
    QCOMPARE(model->item(1)->checkState(), Qt::Unchecked);
    QCOMPARE(model->item(2)->checkState(), Qt::Checked);
    bar.refreshCheckpoints();
    QCOMPARE(bar.checkpoints(), QStringList({"train_b", "train_a"}));

    // Full and freeze checkpoints replace the model: one at a time, no check boxes.
    touch(saves + "/Qwen3-0.6B-Base/full/run1/model.safetensors");
    lathe::test::chooseIn(bar.finetuningTypeCombo(), QStringLiteral("full"));
    QVERIFY(bar.checkpoints().isEmpty()); // a LoRA run is not a full checkpoint
    lathe::test::chooseIndex(combo, 0);
    QCOMPARE(bar.checkpointPath(), QStringLiteral("run1"));
    QVERIFY(!model->item(0)->data(Qt::CheckStateRole).isValid());
    QCOMPARE(lathe::modelSelection(&bar).modelPath, saves + "/Qwen3-0.6B-Base/full/run1");
}

void TestTopBar::hubRopeScalingAndDevice()
{
    TopBar bar;
    QCOMPARE(itemTexts(bar.hubCombo()), QStringList({"huggingface", "modelscope", "openmind"}));
    QCOMPARE(itemTexts(bar.ropeScalingCombo()), QStringList({"none", "linear", "dynamic", "yarn", "llama3"}));
    QCOMPARE(bar.ropeScaling(), QString());
    QCOMPARE(bar.computeDevice(), QStringLiteral("auto"));
    const QStringList devices = itemData(bar.deviceCombo());
    QCOMPARE(devices.mid(0, 2), QStringList({"auto", "cpu"}));

    // The hub picks the id LLaMA-Board would download (its ModelScope / Modelers ids where the list has one).
    pickModel(bar, QStringLiteral("Gemma-2-2B-Instruct"));
    QCOMPARE(bar.modelPath(), QStringLiteral("google/gemma-2-2b-it"));
    lathe::test::chooseIn(bar.hubCombo(), QStringLiteral("modelscope"));
    QCOMPARE(bar.modelPath(), QStringLiteral("LLM-Research/gemma-2-2b-it"));
    lathe::test::chooseIn(bar.hubCombo(), QStringLiteral("openmind"));
    QCOMPARE(bar.modelPath(), QStringLiteral("LlamaFactory/gemma-2-2b-it"));
    pickModel(bar, QStringLiteral("Qwen3-0.6B-Base")); // no Modelers id: the Hugging Face one
    QCOMPARE(bar.modelPath(), QStringLiteral("Qwen/Qwen3-0.6B-Base"));

    // Both reach the run's arguments; "none" sets nothing.
    lathe::ArgumentSet args;
    lathe::addModelArguments(&bar, args);
    QVERIFY(!args.isSet("rope_scaling"));
    lathe::test::chooseIn(bar.ropeScalingCombo(), QStringLiteral("yarn"));
    lathe::test::chooseIndex(bar.deviceCombo(), 1);
    lathe::addModelArguments(&bar, args);
    QCOMPARE(args.getString("rope_scaling"), std::string("yarn"));
    QCOMPARE(args.getString("device"), std::string("cpu"));
}

void TestTopBar::choicesMirrorLlamaBoard()
{
    TopBar bar;
    QCOMPARE(itemData(bar.languageCombo()), QStringList({"en", "zh"}));
    QCOMPARE(bar.language(), QStringLiteral("en"));

    QCOMPARE(itemTexts(bar.finetuningTypeCombo()), QStringList({"full", "freeze", "lora"}));
    QCOMPARE(bar.finetuningType(), QStringLiteral("lora"));

    // The templates documented in llamaboard-reference.md §3.2 are all offered; "default" is preselected.
    const QStringList templates = itemTexts(bar.templateCombo());
    QCOMPARE(templates.first(), QStringLiteral("default"));
    QCOMPARE(templates.count(), QSet<QString>(templates.begin(), templates.end()).count());
    for (const char* name : {"qwen3", "qwen3_nothink", "qwen", "llama3", "llama2", "mistral", "chatml",
                             "alpaca", "empty", "deepseek3", "deepseekr1", "gemma", "glm4"})
        QVERIFY2(templates.contains(QLatin1String(name)), name);
    QCOMPARE(bar.chatTemplate(), QStringLiteral("default"));

    // No model chosen at first, "Custom" offered after the catalogue, as in LLaMA-Board.
    QVERIFY(bar.modelName().isEmpty());
    QVERIFY(bar.modelPath().isEmpty());
    QVERIFY(bar.modelNameCombo()->isEditable());
    QCOMPARE(itemTexts(bar.modelNameCombo()).last(), QStringLiteral("Custom"));
    QVERIFY(bar.checkpointCombo()->isEditable());
    QVERIFY(bar.checkpointPath().isEmpty());
    QVERIFY(bar.browseButton() != nullptr);
}

void TestTopBar::modelListIsLlamaBoardCatalogue()
{
    LATHE_REQUIRE_SHARED();
    QFile file(lathe::test::sharedDir() + "/data/supported_models.json");
    QVERIFY(file.open(QIODevice::ReadOnly));
    QStringList expected;
    for (const QJsonValue& group : QJsonDocument::fromJson(file.readAll()).object().value("groups").toArray())
        for (const QJsonValue& name : group.toObject().value("models").toArray())
            expected << name.toString();
    expected.removeDuplicates(); // LLaMA-Board keeps a name registered twice once, in its first place
    expected << QStringLiteral("Custom");

    TopBar bar;
    QCOMPARE(itemTexts(bar.modelNameCombo()), expected);
}

void TestTopBar::catalogueModelFillsPathAndTemplate_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("path");
    QTest::addColumn<QString>("chatTemplate");
    QTest::newRow("qwen3 instruct") << "Qwen3-4B-Instruct-2507"
                                    << "Qwen/Qwen3-4B-Instruct-2507"
                                    << "qwen3_nothink";
    QTest::newRow("llama3 instruct") << "Llama-3-8B-Instruct"
                                     << "meta-llama/Meta-Llama-3-8B-Instruct"
                                     << "llama3";
    QTest::newRow("qwen2.5 instruct") << "Qwen2.5-7B-Instruct"
                                      << "Qwen/Qwen2.5-7B-Instruct"
                                      << "qwen";
    // A base model gets "default" (LLaMA-Board warns that it must be fine-tuned before chatting).
    QTest::newRow("base model") << "Qwen3-0.6B-Base"
                                << "Qwen/Qwen3-0.6B-Base"
                                << "default";
}

void TestTopBar::catalogueModelFillsPathAndTemplate()
{
    QFETCH(QString, name);
    QFETCH(QString, path);
    QFETCH(QString, chatTemplate);
    TopBar bar;
    lathe::test::chooseIn(bar.templateCombo(), QStringLiteral("chatml")); // must be replaced
    pickModel(bar, name);
    QCOMPARE(bar.modelName(), name);
    QCOMPARE(bar.modelPath(), path);
    QCOMPARE(bar.chatTemplate(), chatTemplate);
}

void TestTopBar::customOrPartialNameKeepsPath()
{
    TopBar bar;
    lathe::test::typeInto(bar.modelPathEdit(), QStringLiteral("/models/my-llama"));
    pickModel(bar, QStringLiteral("Custom"));
    QCOMPARE(bar.modelPath(), QStringLiteral("/models/my-llama"));
    lathe::test::typeInto(bar.modelNameCombo()->lineEdit(), QStringLiteral("Qwen3-4B")); // still typing: not a catalogue name
    QCOMPARE(bar.modelPath(), QStringLiteral("/models/my-llama"));
    QCOMPARE(bar.chatTemplate(), QStringLiteral("default"));
}

// Issue 23, item 3: a typed Qwen3 folder gets qwen3 from its tokenizer's chat template, says where the template came
// from, and warns when the chosen one prompts differently.
void TestTopBar::templateComesFromTheModelFolder()
{
    const QString dir = lathe::test::scratchDir("top_bar_template") + "/Qwen3-folder";
    QDir().mkpath(dir);
    auto write = [](const QString& path, const QByteArray& text) {
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(text);
    };
    write(dir + "/config.json", R"({"model_type": "qwen3", "architectures": ["Qwen3ForCausalLM"]})");
    write(dir + "/tokenizer_config.json",
          R"({"chat_template": "{%- for m in messages %}{{'<|im_start|>' + m.role}}{% if t %}<think>{% endif %}{% endfor %}"})");
    TopBar bar;
    QCOMPARE(bar.chatTemplate(), QStringLiteral("default"));
    lathe::test::typeInto(bar.modelPathEdit(), dir);
    QCOMPARE(bar.chatTemplate(), QStringLiteral("qwen3"));
    QVERIFY2(bar.templateNote()->text().contains("tokenizer_config.json"), qPrintable(bar.templateNote()->text()));
    // The same family (qwen3_nothink) is no warning; another one is.
    lathe::test::chooseIn(bar.templateCombo(), QStringLiteral("qwen3_nothink"));
    QVERIFY(!bar.templateNote()->text().contains("differently"));
    lathe::test::chooseIn(bar.templateCombo(), QStringLiteral("llama3"));
    QVERIFY2(bar.templateNote()->text().contains("qwen3") && bar.templateNote()->text().contains("differently"),
             qPrintable(bar.templateNote()->text()));
    // The user's choice stays when the path is read again.
    lathe::test::typeInto(bar.modelPathEdit(), dir + "/");
    QCOMPARE(bar.chatTemplate(), QStringLiteral("llama3"));
}

void TestTopBar::checkpointsAreListedFromSavesFolder()
{
    const QString saves = lathe::test::scratchDir("top_bar_checkpoints") + "/saves";
    const QString lora = saves + "/Qwen3-0.6B-Base/lora";
    touch(lora + "/train_a/adapter_model.safetensors");
    touch(lora + "/train_a/checkpoint-100/adapter_model.safetensors");
    touch(lora + "/train_a/checkpoint-20/adapter_model.safetensors");
    touch(lora + "/train_b/trainer_log.jsonl");               // a run that saved nothing yet
    touch(lora + "/train_c/checkpoint-5/trainer_state.json"); // no weights
    touch(saves + "/Qwen3-0.6B-Base/full/run1/model.safetensors");
    touch(saves + "/Llama-3-8B-Instruct/lora/other/adapter_model.bin");

    touch(saves + "/Custom/lora/typed_path_run/adapter_model.safetensors");

    TopBar bar;
    bar.setSavesRoot(saves);
    // No catalogue name (a typed model path): the runs the window saved under Custom/ (issue 23, item 1), and
    // the refresh button names the folder it scans.
    QCOMPARE(itemTexts(bar.checkpointCombo()), QStringList({"typed_path_run"}));
    QVERIFY2(bar.refreshCheckpointsButton()->toolTip().contains(QDir::toNativeSeparators(saves + "/Custom/lora")),
             qPrintable(bar.refreshCheckpointsButton()->toolTip()));

    pickModel(bar, QStringLiteral("Qwen3-0.6B-Base"));
    QCOMPARE(itemTexts(bar.checkpointCombo()),
             QStringList({"train_a", "train_a/checkpoint-20", "train_a/checkpoint-100"}));
    QVERIFY(bar.checkpointPath().isEmpty()); // listing does not pick one

    lathe::test::chooseIn(bar.finetuningTypeCombo(), QStringLiteral("full"));
    QCOMPARE(itemTexts(bar.checkpointCombo()), QStringList({"run1"}));
    lathe::test::chooseIn(bar.finetuningTypeCombo(), QStringLiteral("freeze"));
    QCOMPARE(bar.checkpointCombo()->count(), 0);

    lathe::test::chooseIn(bar.finetuningTypeCombo(), QStringLiteral("lora"));
    pickModel(bar, QStringLiteral("Llama-3-8B-Instruct"));
    QCOMPARE(itemTexts(bar.checkpointCombo()), QStringList({"other"}));
}

void TestTopBar::refreshKeepsTheChosenCheckpoint()
{
    const QString saves = lathe::test::scratchDir("top_bar_refresh") + "/saves";
    const QString runs = saves + "/Qwen3-0.6B-Base/lora";
    touch(runs + "/train_a/adapter_model.safetensors");
    touch(runs + "/train_b/adapter_model.safetensors");

    TopBar bar;
    bar.setSavesRoot(saves);
    pickModel(bar, QStringLiteral("Qwen3-0.6B-Base"));
    lathe::test::chooseIndex(bar.checkpointCombo(), 1);
    QCOMPARE(bar.checkpointPath(), QStringLiteral("train_b"));

    touch(runs + "/train_a/checkpoint-50/adapter_model.safetensors");
    lathe::test::clickOn(bar.refreshCheckpointsButton());
    QCOMPARE(itemTexts(bar.checkpointCombo()), QStringList({"train_a", "train_a/checkpoint-50", "train_b"}));
    QCOMPARE(bar.checkpointPath(), QStringLiteral("train_b"));
    QVERIFY(bar.refreshCheckpointsButton()->toolTip().contains(QStringLiteral("Qwen3-0.6B-Base")));
}

void TestTopBar::saveDirDropsSpacesFromModelName()
{
    QCOMPARE(lathe::CheckpointLister::saveDir("/srv/saves", "My Local Model", "lora"),
             QStringLiteral("/srv/saves/MyLocalModel/lora"));
    QVERIFY(lathe::CheckpointLister::list("/nonexistent", "Model", "lora").isEmpty());
    QVERIFY(lathe::CheckpointLister::list("/srv/saves", "  ", "lora").isEmpty());
}

void TestTopBar::languagePickerAsksForChange()
{
    TopBar bar;
    QSignalSpy spy(&bar, &TopBar::languageRequested);
    lathe::test::chooseIndex(bar.languageCombo(), bar.languageCombo()->findData(QStringLiteral("zh")));
    QCOMPARE(spy.count(), 1);
    QCOMPARE(spy.at(0).at(0).toString(), QStringLiteral("zh"));

    // Showing the language from code does not echo back as a request.
    bar.setLanguage(QStringLiteral("en"));
    QCOMPARE(bar.language(), QStringLiteral("en"));
    QCOMPARE(spy.count(), 1);
}

QTEST_MAIN(TestTopBar)
#include "tst_top_bar.moc"

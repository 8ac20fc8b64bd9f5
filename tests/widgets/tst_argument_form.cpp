// Tests of the schema-generated hyperparameter form: every argument it shows survives a round trip
// (ArgumentSet -> form -> ArgumentSet) with non-default values, editors follow the schema's types, ranges,
// choices and help texts (Chinese under the Chinese interface), invalid values are marked, the sections are
// LLaMA-Board's, and long curves are thinned for the charts without losing their extremes.
#include <cmath>
#include <limits>

#include <QCheckBox>
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QSpinBox>
#include <QToolButton>
#include <QtTest/QtTest>

#include "argument_form.h"
#include "config/stages.h"
#include "language_switcher.h"
#include "series_downsample.h"
#include "util/error.h"
#include "widget_input.h"

using lathe::ArgSpec;
using lathe::ArgType;
using lathe::ArgumentForm;
using lathe::ArgumentSet;
using lathe::StageInfo;
using lathe::trainingStages;
using json = nlohmann::json;

namespace {

bool inRange(const ArgSpec& s, double v)
{
    return (!s.minimum || v >= *s.minimum) && (!s.maximum || v <= *s.maximum);
}

// A valid value of `s` that is not its default.
json nonDefault(const ArgSpec& s)
{
    const json& d = s.defaultValue;
    switch (s.type) {
    case ArgType::Bool:
        return d.is_null() ? true : !d.get<bool>();
    case ArgType::Int: {
        const double base = d.is_null() ? (s.minimum ? *s.minimum : 0.0) : d.get<double>();
        for (double v : {base + 3, base + 1, base - 1})
            if (inRange(s, v) && (d.is_null() || v != d.get<double>()))
                return static_cast<long long>(v);
        break;
    }
    case ArgType::Float: {
        const double base = d.is_null() ? (s.minimum ? *s.minimum : 0.0) : d.get<double>();
        for (double v : {base + 0.125, base - 0.125, base * 0.5, base * 2})
            if (inRange(s, v) && (d.is_null() || v != d.get<double>()))
                return v;
        break;
    }
    case ArgType::Choice:
        for (const std::string& c : s.choices)
            if (d.is_null() || c != d.get<std::string>())
                return c;
        break;
    case ArgType::String:
        return "x_" + s.name;
    }
    return nullptr;
}

const ArgSpec& specOf(const QString& name)
{
    const ArgSpec* s = lathe::findArgument(name.toStdString());
    Q_ASSERT(s);
    return *s;
}

} // namespace

class TestArgumentForm : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void showsEveryTrainingArgumentOfTheSchema();
    void everyArgumentRoundTrips();
    void computeTypeIsOneChoice();
    void defaultsAreNotWritten();
    void editorsFollowTheSchema();
    void tooltipsAreTheHelpInTheInterfaceLanguage();
    void invalidValuesAreMarked();
    void sectionsAreLlamaBoards();
    void longCurvesAreThinnedKeepingExtremes();
};

void TestArgumentForm::showsEveryTrainingArgumentOfTheSchema()
{
    ArgumentForm form;
    const QStringList names = form.argumentNames();
    QVERIFY(names.size() >= 50);
    for (const ArgSpec& s : lathe::argumentSchema()) {
        const QString name = QString::fromStdString(s.name);
        const bool shown = ArgumentForm::sectionOf(s) >= 0;
        QCOMPARE(names.contains(name), shown);
        QCOMPARE(form.editor(name) != nullptr, shown);
    }
    // Set by the top bar and the tab, not by the form; chat and export arguments are elsewhere.
    for (const char* name : {"model_name_or_path", "finetuning_type", "template", "stage", "dataset", "output_dir",
                             "temperature", "export_dir", "task", "gradient_checkpointing"})
        QVERIFY2(!names.contains(name), name);
    QVERIFY(names.contains("disable_gradient_checkpointing")); // one gradient checkpointing switch, LLaMA-Factory's
    // Every field has words for a label, not its raw YAML key (issue 23, item 10); the key is in the tooltip.
    for (const QString& name : names) {
        QWidget* editor = form.editor(name);
        QString label;
        if (auto* box = qobject_cast<QCheckBox*>(editor))
            label = box->text();
        for (QLabel* l : form.findChildren<QLabel*>())
            if (l->buddy() == editor)
                label = l->text();
        QVERIFY2(!label.isEmpty() && label != name, qPrintable(name + ": " + label));
        QVERIFY2(editor->toolTip().contains("(" + name + ")"), qPrintable(name));
    }
    for (const char* name : {"learning_rate", "lora_rank", "freeze_trainable_layers", "pref_beta", "logging_steps",
                             "packing", "neftune_noise_alpha", "lr_scheduler_type", "eval_strategy"})
        QVERIFY2(names.contains(name), name);
}

// LLaMA-Board's compute type: one choice over bf16 / fp16 / pure_bf16 (issue 23, item 10).
void TestArgumentForm::computeTypeIsOneChoice()
{
    ArgumentForm form;
    QComboBox* combo = form.computeTypeCombo();
    QVERIFY(combo && combo->count() == 4);
    QCOMPARE(combo->currentData().toString(), QString("fp32"));
    QVERIFY(!form.editor("bf16")->isVisible() && !form.editor("fp16")->isVisible());
    lathe::test::chooseIndex(combo, combo->findData("pure_bf16"));
    ArgumentSet args;
    form.writeTo(args);
    QVERIFY(args.getBool("pure_bf16") && !args.getBool("bf16") && !args.getBool("fp16"));
    QVERIFY(args.validate().empty());
    ArgumentSet loaded;
    loaded.set("fp16", "true");
    form.load(loaded);
    QCOMPARE(combo->currentData().toString(), QString("fp16"));
    loaded.set("fp16", "false");
    loaded.set("bf16", "true");
    form.load(loaded);
    QCOMPARE(combo->currentData().toString(), QString("bf16"));
}

void TestArgumentForm::everyArgumentRoundTrips()
{
    ArgumentForm form;
    ArgumentSet wanted;
    for (const QString& name : form.argumentNames()) {
        const json v = nonDefault(specOf(name));
        QVERIFY2(!v.is_null(), qPrintable(name));
        wanted.setValue(name.toStdString(), v);
    }
    form.load(wanted);
    QVERIFY2(form.validate().isEmpty(), qPrintable(form.validate().join("; ")));
    // The RLHF section's arguments belong to a stage: the form writes those of the stage it is set to.
    const QStringList rlhf = form.sectionArguments(ArgumentForm::RlhfSection);
    QStringList everyWritten;
    for (const StageInfo& stage : trainingStages()) {
        form.setStage(QString::fromStdString(stage.name));
        ArgumentSet got;
        form.writeTo(got);
        for (const QString& name : form.argumentNames()) {
            const std::string key = name.toStdString();
            const bool forStage = !rlhf.contains(name) ||
                                  std::find(stage.keys.begin(), stage.keys.end(), key) != stage.keys.end();
            QVERIFY2(got.isSet(key) == forStage, qPrintable(name + " in stage " + stage.name.c_str()));
            if (!forStage)
                continue;
            everyWritten << name;
            QVERIFY2(got.get(key) == wanted.get(key),
                     qPrintable(name + ": " + QString::fromStdString(got.get(key).dump()) + " != " +
                                QString::fromStdString(wanted.get(key).dump())));
        }
    }
    everyWritten.removeDuplicates();
    QCOMPARE(everyWritten.size(), form.argumentNames().size()); // every argument is some stage's

    // And back to the defaults: loading an empty set leaves nothing to write.
    form.load(ArgumentSet());
    ArgumentSet none;
    form.writeTo(none);
    QVERIFY(none.keys().empty());
}

void TestArgumentForm::defaultsAreNotWritten()
{
    ArgumentForm form;
    ArgumentSet args;
    form.writeTo(args);
    QVERIFY(args.keys().empty());
    // A changed value is written, typed as the schema says.
    static_cast<QLineEdit*>(form.editor("learning_rate"))->setText("1e-4");
    static_cast<QSpinBox*>(form.editor("lora_rank"))->setValue(16);
    form.writeTo(args);
    QCOMPARE(args.keys(), (std::vector<std::string>{"lora_rank", "learning_rate"}));
    QVERIFY(args.get("learning_rate").is_number_float());
    QCOMPARE(args.getFloat("learning_rate"), 1e-4);
    QVERIFY(args.get("lora_rank").is_number_integer());
    QCOMPARE(args.getInt("lora_rank"), 16LL);
}

void TestArgumentForm::editorsFollowTheSchema()
{
    ArgumentForm form;
    for (const QString& name : form.argumentNames()) {
        const ArgSpec& s = specOf(name);
        QWidget* w = form.editor(name);
        switch (s.type) {
        case ArgType::Bool: {
            if (s.defaultValue.is_null()) {
                // Unset means something (packing: on for pt): Auto / On / Off, not a half-ticked box (issue 23).
                auto* combo = qobject_cast<QComboBox*>(w);
                QVERIFY2(combo && combo->count() == 3, qPrintable(name));
                QVERIFY(combo->itemText(0).startsWith("Auto"));
                QVERIFY(!combo->currentData().isValid());
                lathe::test::chooseIndex(combo, 2);
                ArgumentSet args;
                form.writeTo(args);
                QCOMPARE(args.get(s.name), nlohmann::json(false));
                lathe::test::chooseIndex(combo, 0);
                break;
            }
            auto* box = qobject_cast<QCheckBox*>(w);
            QVERIFY2(box && !box->isTristate(), qPrintable(name));
            break;
        }
        case ArgType::Int: {
            auto* spin = qobject_cast<QSpinBox*>(w);
            QVERIFY2(spin, qPrintable(name));
            if (s.maximum)
                QCOMPARE(spin->maximum(), int(std::min<double>(*s.maximum, std::numeric_limits<int>::max())));
            if (s.minimum)
                QCOMPARE(spin->minimum(), int(*s.minimum) - (s.defaultValue.is_null() ? 1 : 0));
            if (!s.defaultValue.is_null())
                QCOMPARE(spin->value(), s.defaultValue.get<int>());
            break;
        }
        case ArgType::Choice: {
            auto* combo = qobject_cast<QComboBox*>(w);
            QVERIFY2(combo, qPrintable(name));
            QCOMPARE(combo->count(), int(s.choices.size()) + (s.defaultValue.is_null() ? 1 : 0));
            break;
        }
        case ArgType::Float:
        case ArgType::String:
            QVERIFY2(qobject_cast<QLineEdit*>(w), qPrintable(name));
            break;
        }
    }
    // Numbers are shown so that they read back exactly.
    QCOMPARE(static_cast<QLineEdit*>(form.editor("learning_rate"))->text(), QStringLiteral("5e-05"));
    QCOMPARE(static_cast<QLineEdit*>(form.editor("adam_epsilon"))->text(), QStringLiteral("1e-08"));
}

void TestArgumentForm::tooltipsAreTheHelpInTheInterfaceLanguage()
{
    lathe::LanguageSwitcher switcher;
    QVERIFY(switcher.setLanguage("en"));
    ArgumentForm form;
    const ArgSpec& rank = specOf("lora_rank");
    QVERIFY(form.editor("lora_rank")->toolTip().contains(QString::fromStdString(rank.help)));

    QVERIFY(switcher.setLanguage("zh"));
    QCoreApplication::processEvents(); // the LanguageChange event
    QVERIFY(!rank.helpZh.empty());
    QTRY_VERIFY(form.editor("lora_rank")->toolTip().contains(QString::fromStdString(rank.helpZh)));
    for (const QString& name : form.argumentNames()) {
        const ArgSpec& s = specOf(name);
        const std::string& help = s.helpZh.empty() ? s.help : s.helpZh;
        QVERIFY2(form.editor(name)->toolTip().contains(QString::fromStdString(help)), qPrintable(name));
    }
    // LLaMA-Board's Chinese label.
    QString lrLabel;
    for (const QLabel* label : form.findChildren<QLabel*>())
        if (label->buddy() == form.editor("learning_rate"))
            lrLabel = label->text();
    QCOMPARE(lrLabel, QStringLiteral("学习率"));
    QVERIFY(switcher.setLanguage("en"));
    QCoreApplication::processEvents();
    QTRY_VERIFY(form.editor("lora_rank")->toolTip().contains(QString::fromStdString(rank.help)));
}

void TestArgumentForm::invalidValuesAreMarked()
{
    ArgumentForm form;
    auto* lr = static_cast<QLineEdit*>(form.editor("learning_rate"));
    auto* dropout = static_cast<QLineEdit*>(form.editor("lora_dropout"));
    QVERIFY(form.validate().isEmpty());
    QVERIFY(!lr->property("invalid").toBool());

    lathe::test::typeInto(lr, "fast");
    lathe::test::typeInto(dropout, "2"); // above the schema's maximum
    QVERIFY(lr->property("invalid").toBool()); // marked as typed, before Start
    const QStringList problems = form.validate();
    QCOMPARE(problems.size(), 2);
    QVERIFY2(problems.at(0).contains("lora_dropout") || problems.at(1).contains("lora_dropout"),
             qPrintable(problems.join("; ")));
    QVERIFY(problems.join(" ").contains("learning_rate"));
    QVERIFY(dropout->property("invalid").toBool());
    QVERIFY(lr->toolTip().contains("not a number"));
    ArgumentSet args;
    QVERIFY_THROWS_EXCEPTION(lathe::Error, form.writeTo(args));

    lathe::test::typeInto(lr, "2e-4");
    lathe::test::typeInto(dropout, "0.05");
    QVERIFY(form.validate().isEmpty());
    QVERIFY(!lr->property("invalid").toBool());
    QVERIFY(!dropout->property("invalid").toBool());
    QVERIFY(!lr->toolTip().contains("not a number"));
}

void TestArgumentForm::sectionsAreLlamaBoards()
{
    ArgumentForm form;
    QVERIFY(form.sectionArguments(ArgumentForm::BasicSection).contains("learning_rate"));
    QVERIFY(form.sectionArguments(ArgumentForm::BasicSection).contains("per_device_train_batch_size"));
    QVERIFY(form.sectionArguments(ArgumentForm::ExtraSection).contains("logging_steps"));
    QVERIFY(form.sectionArguments(ArgumentForm::ExtraSection).contains("neftune_noise_alpha"));
    QVERIFY(form.sectionArguments(ArgumentForm::FreezeSection).contains("freeze_trainable_layers"));
    QVERIFY(form.sectionArguments(ArgumentForm::LoraSection).contains("lora_rank"));
    QVERIFY(form.sectionArguments(ArgumentForm::RlhfSection).contains("pref_loss"));
    QVERIFY(form.sectionArguments(ArgumentForm::RlhfSection).contains("kto_chosen_weight"));
    int total = 0;
    for (int s = 0; s < ArgumentForm::SectionCount; ++s)
        total += form.sectionArguments(ArgumentForm::Section(s)).size();
    QCOMPARE(total, form.argumentNames().size());

    form.show();
    QVERIFY(QTest::qWaitForWindowExposed(&form));
    QVERIFY(form.editor("learning_rate")->isVisible());
    QVERIFY(!form.isSectionExpanded(ArgumentForm::LoraSection));
    QVERIFY(!form.editor("lora_rank")->isVisible());
    lathe::test::clickOn(form.sectionHeader(ArgumentForm::LoraSection));
    QVERIFY(form.isSectionExpanded(ArgumentForm::LoraSection));
    QVERIFY(form.editor("lora_rank")->isVisible());
    QCOMPARE(form.sectionHeader(ArgumentForm::LoraSection)->text(), QStringLiteral("LoRA configurations"));
    QVERIFY(form.sectionHeader(ArgumentForm::BasicSection) == nullptr);

    // The RLHF section shows the chosen stage's own arguments, and is hidden for a stage without any.
    QVERIFY(!form.sectionHeader(ArgumentForm::RlhfSection)->isVisible()); // sft
    form.setStage("dpo");
    QVERIFY(form.sectionHeader(ArgumentForm::RlhfSection)->isVisible());
    lathe::test::clickOn(form.sectionHeader(ArgumentForm::RlhfSection));
    QVERIFY(form.editor("pref_loss")->isVisible());
    QVERIFY(form.editor("dpo_label_smoothing")->isVisible());
    QVERIFY(!form.editor("kto_chosen_weight")->isVisible());
    form.setStage("kto");
    QVERIFY(!form.editor("pref_loss")->isVisible());
    QVERIFY(form.editor("kto_chosen_weight")->isVisible());
    QVERIFY(form.editor("pref_beta")->isVisible());
    form.setStage("rm");
    QVERIFY(!form.sectionHeader(ArgumentForm::RlhfSection)->isVisible());
}

void TestArgumentForm::longCurvesAreThinnedKeepingExtremes()
{
    std::vector<QPointF> points;
    for (int i = 0; i < 100000; ++i)
        points.emplace_back(i + 1, 2.0 + std::sin(i * 0.01) + (i == 54321 ? 5.0 : 0.0) - (i == 777 ? 4.0 : 0.0));
    QElapsedTimer timer;
    timer.start();
    const QList<QPointF> thin = lathe::downsampleMinMax(points, 600);
    QVERIFY(timer.elapsed() < 500);
    QVERIFY(thin.size() <= 2 * 600 + 2);
    QVERIFY(thin.size() > 600);
    QCOMPARE(thin.first(), points.front());
    QCOMPARE(thin.last(), points.back());
    QVERIFY(thin.contains(points[54321])); // the spike
    QVERIFY(thin.contains(points[777]));   // the dip
    for (int i = 1; i < thin.size(); ++i)
        QVERIFY(thin[i].x() >= thin[i - 1].x());
    // Short curves are shown as they are.
    const std::vector<QPointF> few(points.begin(), points.begin() + 50);
    QCOMPARE(lathe::downsampleMinMax(few, 600).size(), 50);
}

QTEST_MAIN(TestArgumentForm)
#include "tst_argument_form.moc"

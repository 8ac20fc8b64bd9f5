// Tests of core/config/argument_schema: LLaMA-Factory's real example configs load, bad values and unknown
// keys give their own errors, YAML round-trips, and every argument is documented in both languages.
#include <filesystem>

#include <QtTest/QtTest>

#include "config/argument_schema.h"
#include "config/training_arguments.h"
#include "error_check.h"
#include "test_support.h"

using namespace lathe;
namespace fs = std::filesystem;

class TestArgumentSchema : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    void commandLinePreview()
    {
        ArgumentSet a;
        a.set("learning_rate", "1e-4");
        a.set("model_name_or_path", "/models/Qwen3 0.6B");
        a.set("stage", "sft");
        a.set("default_system", "It's me");
        QCOMPARE(a.toCommandLine(), std::string("lathe train 'model_name_or_path=/models/Qwen3 0.6B' stage=sft "
                                                "'default_system=It'\\''s me' learning_rate=0.0001"));
    }

    void schemaIsComplete()
    {
        for (const auto& s : argumentSchema()) {
            QVERIFY2(!s.help.empty() && !s.helpZh.empty(), s.name.c_str());
            QVERIFY2(!s.group.empty(), s.name.c_str());
            if (s.type == ArgType::Choice) {
                QVERIFY2(!s.choices.empty(), s.name.c_str());
                if (!s.defaultValue.is_null())
                    QVERIFY2(std::find(s.choices.begin(), s.choices.end(),
                                       s.defaultValue.get<std::string>()) != s.choices.end(),
                             s.name.c_str());
            }
            QCOMPARE(findArgument(s.name), &s);
        }
    }

    void llamaFactoryExamplesLoad()
    {
        LATHE_REQUIRE_SHARED();
        int files = 0;
        for (const auto& e :
             fs::recursive_directory_iterator((test::sharedDir() + "/examples/llamafactory").toStdString())) {
            if (e.path().extension() != ".yaml")
                continue;
            ++files;
            try {
                const auto args = ArgumentSet::fromYamlFile(e.path().string());
                QVERIFY(!args.keys().empty());
            } catch (const Error& err) {
                QFAIL(err.what());
            }
        }
        QVERIFY(files >= 5);
        const auto lora = ArgumentSet::fromYamlFile(
            (test::sharedDir() + "/examples/llamafactory/train_lora/qwen3_lora_sft.yaml").toStdString());
        QCOMPARE(lora.getString("stage"), std::string("sft"));
        QCOMPARE(lora.getInt("lora_rank"), 8LL);
        QCOMPARE(lora.getFloat("learning_rate"), 1.0e-4);
        QCOMPARE(lora.getFloat("num_train_epochs"), 3.0);
        QCOMPARE(lora.getString("dataset"), std::string("identity,alpaca_en_demo"));
        QVERIFY(lora.get("resume_from_checkpoint").is_null());
        // trust_remote_code is a LLaMA-Factory key Lathe ignores, with a reason; ddp_timeout bounds its workers' waits.
        std::vector<std::string> ignored;
        for (const auto& [k, why] : lora.ignored()) {
            ignored.push_back(k);
            QVERIFY(!why.empty());
        }
        QVERIFY(std::find(ignored.begin(), ignored.end(), "trust_remote_code") != ignored.end());
        QVERIFY(std::find(ignored.begin(), ignored.end(), "ddp_timeout") == ignored.end());
        QCOMPARE(lora.getInt("ddp_timeout"), 180000000LL);
    }

    void badValues_data()
    {
        QTest::addColumn<QString>("yaml");
        QTest::addColumn<QString>("expected");
        QTest::newRow("unknown key") << "learning_rat: 1e-4"
                                     << "unknown argument \"learning_rat\" (did you mean \"learning_rate\"?)";
        QTest::newRow("not an integer") << "lora_rank: eight"
                                        << "lora_rank: \"eight\" is not an integer";
        QTest::newRow("not a choice") << "lr_scheduler_type: cosin"
                                      << "\"cosin\" is not one of linear, cosine";
        QTest::newRow("above maximum") << "lora_dropout: 2"
                                       << "lora_dropout: 2.0 is above the maximum 1";
        QTest::newRow("below minimum") << "cutoff_len: 0"
                                       << "cutoff_len: 0 is below the minimum 4";
        QTest::newRow("not a bool") << "bf16: maybe"
                                    << "bf16: \"maybe\" is not true or false";
        QTest::newRow("bad YAML") << "stage: [sft"
                                  << "not valid YAML";
        QTest::newRow("line number") << "stage: sft\nlora_rnak: 8"
                                     << ": line 2: unknown argument \"lora_rnak\"";
    }
    void badValues()
    {
        QFETCH(QString, yaml);
        QFETCH(QString, expected);
        QString message;
        LATHE_VERIFY_ERROR(ArgumentSet::fromYaml(yaml.toStdString(), "cfg.yaml"), message);
        QVERIFY2(message.contains(expected), qPrintable(message));
        QVERIFY(message.startsWith("cfg.yaml"));
    }

    void overridesAndRoundTrip()
    {
        auto args = ArgumentSet::fromYaml(
            "stage: sft\ndo_train: true\nlearning_rate: 1.0e-4\nlora_target: all\n", "a.yaml");
        args.set("learning_rate", "1e-5");
        args.set("lora_rank", "16");
        args.set("dataset", "alpaca_en_demo,identity");
        QCOMPARE(args.getFloat("learning_rate"), 1e-5);
        QCOMPARE(args.getInt("lora_rank"), 16LL);
        const std::string yaml = args.toYaml();
        QVERIFY2(yaml.find("### method\n") != std::string::npos, yaml.c_str());
        const auto again = ArgumentSet::fromYaml(yaml, "round-trip");
        for (const auto& k : args.keys())
            QCOMPARE(again.get(k), args.get(k));
        // Floats as PyYAML (LLaMA-Factory) reads floats, and as short as they round-trip (issue 23, item 10).
        args.set("warmup_ratio", "0.05");
        args.set("num_train_epochs", "3");
        const std::string floats = args.toYaml();
        for (const char* line : {"learning_rate: 1.0e-05\n", "warmup_ratio: 0.05\n", "num_train_epochs: 3.0\n"})
            QVERIFY2(floats.find(line) != std::string::npos, floats.c_str());
        QCOMPARE(ArgumentSet::fromYaml(floats, "again").getFloat("warmup_ratio"), 0.05);
        // Unset keys read as the schema defaults.
        QCOMPARE(args.getInt("per_device_train_batch_size"), 8LL);
        QCOMPARE(args.getString("lr_scheduler_type"), std::string("linear"));
    }

    void crossFieldValidation()
    {
        auto args = ArgumentSet::fromYaml(
            "do_train: true\ntrain_on_prompt: true\nmask_history: true\nbf16: true\nfp16: true\n", "x");
        const auto problems = args.validate();
        auto has = [&](const char* text) {
            return std::any_of(problems.begin(), problems.end(),
                               [&](const std::string& p) { return p.find(text) != std::string::npos; });
        };
        QVERIFY(has("model_name_or_path: required"));
        QVERIFY(has("train_on_prompt and mask_history"));
        QVERIFY(has("bf16 and fp16"));
    }

    void trainingArgumentsAreBoundToTheSchema()
    {
        // Every field of TrainingArguments is bound to a schema key of a fitting type; nothing repeats a
        // default: an empty set binds to the schema's defaults.
        const auto problems = lathe::checkTrainingBindings();
        QVERIFY2(problems.empty(), problems.empty() ? "" : problems.front().c_str());
        for (const auto& key : lathe::boundTrainingKeys())
            QVERIFY2(lathe::findArgument(key), key.c_str());
        const auto defaults = lathe::bindTrainingArguments(lathe::ArgumentSet());
        QCOMPARE(defaults.learningRate, lathe::findArgument("learning_rate")->defaultValue.get<double>());
        QCOMPARE(defaults.batchSize, lathe::findArgument("per_device_train_batch_size")->defaultValue.get<std::int64_t>());
        QCOMPARE(defaults.prefLoss, lathe::findArgument("pref_loss")->defaultValue.get<std::string>());
        QCOMPARE(defaults.loraTarget, std::vector<std::string>({"all"})); // lora_target's default
        QVERIFY(!defaults.maxSamples);
        QCOMPARE(defaults.loraAlphaValue(), 16.0); // 2 x lora_rank 8, as LLaMA-Factory
        QCOMPARE(defaults.evalSteps, defaults.loggingSteps);
        QVERIFY(!defaults.packing);

        lathe::ArgumentSet args;
        args.set("stage", "pt");
        args.set("dataset", "a, b");
        args.set("max_samples", "100");
        args.set("lora_rank", "4");
        args.set("ld_alpha", "0.5");
        args.set("enable_thinking", "false");
        const auto a = lathe::bindTrainingArguments(args);
        QCOMPARE(a.datasets, std::vector<std::string>({"a", "b"}));
        QCOMPARE(*a.maxSamples, std::int64_t(100));
        QCOMPARE(a.loraAlphaValue(), 8.0);
        QCOMPARE(*a.ldAlpha, 0.5);
        QVERIFY(!a.enableThinking);
        QVERIFY(a.packing); // pt packs by default
    }
};

QTEST_APPLESS_MAIN(TestArgumentSchema)
#include "tst_argument_schema.moc"

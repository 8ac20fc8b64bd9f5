// Every model family from the window (issue 16): for a small random model of each registered architecture
// (`new-model`, the byte tokenizer), the top bar's summary names it, the Train tab trains a LoRA on it from
// Start to Finished, and the Chat tab's session answers with the greedy reply of the model plus that adapter.
#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QtTest/QtTest>

#include "argument_form.h"
#include "generation/generator.h"
#include "lora/lora_adapter.h"
#include "model/arch/architecture.h"
#include "model/model_loader.h"
#include "model/new_model.h"
#include "session/chat_session.h"
#include "template/chat_template.h"
#include "template/template_encoder.h"
#include "test_support.h"
#include "tiny_model.h"
#include "tokenizer/tokenizer.h"
#include "top_bar.h"
#include "train_tab.h"

class TestFamilies : public QObject
{
    Q_OBJECT
private Q_SLOTS:
    void everyFamilyFromTheWindow()
    {
        const QString root = lathe::test::scratchDir("families_window");
        lathe::test::writeByteTokenizer((root + "/tokenizer").toStdString());
        std::vector<std::pair<std::string, std::string>> qa;
        for (int i = 0; i < 6; ++i)
            qa.emplace_back("What is " + std::to_string(i) + " plus one?", "It is " + std::to_string(i + 1) + ".");
        lathe::test::writeAlpacaDataset((root + "/data").toStdString(), "qa", qa);
        for (const auto* arch : lathe::architectures()) {
            const QString family = QString::fromLatin1(arch->model_type);
            lathe::NewModelOptions o;
            o.arch = arch->model_type;
            o.config = R"({"vocab_size": 300, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 2,
                           "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "num_experts": 4,
                           "num_local_experts": 4, "num_experts_per_tok": 2, "moe_intermediate_size": 32,
                           "shared_expert_intermediate_size": 32, "sliding_window": 16, "eos_token_id": 258,
                           "pad_token_id": 256, "initializer_range": 0.1})";
            o.tokenizerDir = (root + "/tokenizer").toStdString();
            o.outDir = (root + "/" + family).toStdString();
            o.dtype = "float32";
            lathe::writeNewModel(o);
            const QString model = QString::fromStdString(o.outDir);

            lathe::TopBar bar;
            bar.modelNameCombo()->setCurrentText("Custom");
            bar.modelPathEdit()->setText(model);
            QVERIFY2(bar.modelSummaryLabel()->text().contains(QString::fromLatin1(arch->hf_class)),
                     qPrintable(family + ": " + bar.modelSummaryLabel()->text()));
            bar.templateCombo()->setCurrentText("qwen");
            bar.finetuningTypeCombo()->setCurrentText("lora");

            lathe::TrainTab tab;
            tab.setTopBar(&bar);
            tab.datasetDirEdit()->setText(root + "/data");
            tab.refreshDatasets();
            tab.setDatasets({"qa"});
            const QString out = root + "/run_" + family;
            tab.outputDirEdit()->setText(out);
            lathe::ArgumentSet a;
            for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
                     {"cutoff_len", "64"}, {"max_steps", "3"}, {"logging_steps", "1"}, {"save_steps", "1000"},
                     {"per_device_train_batch_size", "2"}, {"gradient_accumulation_steps", "1"},
                     {"learning_rate", "1e-2"}, {"lora_rank", "4"}, {"overwrite_output_dir", "true"},
                     {"tokenized_path", (root + "/cache").toStdString()}})
                a.set(k, v);
            tab.form()->load(a);
            QSignalSpy finished(&tab, &lathe::TrainTab::runFinished);
            tab.startButton()->click();
            QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, 120000);
            QVERIFY2(finished.first().at(0).toBool(), qPrintable(family + ": " + finished.first().at(2).toString()));

            // The Chat tab's session with the trained adapter: its greedy reply is the engine's.
            lathe::ChatSession session;
            lathe::ChatSessionOptions options;
            options.modelDir = o.outDir;
            options.adapters = {out.toStdString()};
            options.templateName = "qwen";
            options.dtype = "float32";
            session.load(options);
            lathe::ChatSessionRequest request;
            request.turns.push_back({lathe::ChatTurnRole::User, "What is 3 plus one?"});
            request.maxNewTokens = 8;
            request.temperature = 0;
            const auto reply = session.chat(request);
            QVERIFY2(reply.completionTokens > 0, qPrintable(family));

            auto engine = lathe::loadModel(o.outDir, {torch::kCPU, torch::kFloat32});
            lathe::loadInferenceAdapters(engine, {out.toStdString()});
            const auto tokenizer = lathe::Tokenizer::fromDirectory(o.outDir);
            const lathe::TemplateEncoder encoder(lathe::chatTemplate("qwen"), tokenizer);
            lathe::Conversation c;
            c.messages.push_back({lathe::Role::User, "What is 3 plus one?"});
            const auto prompt = encoder.encodeGenerationPrompt(c);
            lathe::GenerationOptions g;
            g.max_new_tokens = 8;
            g.eos_token_ids = {258};
            const auto ids = lathe::greedyGenerate(engine, std::vector<std::int64_t>(prompt.begin(), prompt.end()), g);
            QCOMPARE(reply.completionTokens, std::int64_t(ids.output_ids.size()));
        }
    }
};

QTEST_MAIN(TestFamilies)
#include "tst_families.moc"

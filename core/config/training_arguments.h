// The arguments a training run reads, as one typed struct bound to the argument schema (argument_schema.h).
//
// Each field is tied to its schema key by one line of the binding table in training_arguments.cpp; the
// value comes from ArgumentSet::get(), so the default, the type, the range and the choices are the schema's
// alone and nothing here repeats them. checkTrainingBindings() (run by the tests) proves that every bound
// key exists in the schema with a type that fits its field. After binding, the few values LLaMA-Factory
// derives from others are filled in (lora_alpha = 2 x rank, packing for pt, eval_steps = logging_steps, ...)
// in one place, resolve(). Modelled on LLaMA-Factory's hparams/*_args.py dataclasses and llama.cpp's
// common/arg.cpp table.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/argument_schema.h"

namespace lathe {

struct TrainingArguments
{
    // ---- model
    std::string modelPath;             ///< model_name_or_path
    std::vector<std::string> adapters; ///< adapter_name_or_path
    std::string templateName;          ///< template
    std::string ropeScaling;           ///< rope_scaling
    std::string device;                ///< device
    std::optional<std::int64_t> nprocPerNode; ///< nproc_per_node (null: one per visible accelerator, 1 on CPU)
    std::string deepspeed;             ///< deepspeed (config path)
    std::int64_t ddpTimeout = 1800;
    double ddpBucketCapMb = 25;
    // ---- method
    std::string stage;          ///< stage
    std::string finetuningType; ///< finetuning_type
    bool doTrain = false, doEval = false, doPredict = false, trainFromScratch = false;
    // ---- lora
    std::int64_t loraRank = 8;
    std::optional<double> loraAlpha; ///< null: 2 x lora_rank (resolve())
    double loraDropout = 0;
    std::vector<std::string> loraTarget; ///< empty: all (resolve())
    std::string additionalTarget;
    bool useRslora = false, useDora = false, createNewAdapter = false;
    // ---- freeze
    std::int64_t freezeLayers = 2;
    std::vector<std::string> freezeModules, freezeExtra;
    // ---- preference stages
    double prefBeta = 0.1, prefFtx = 0, dpoLabelSmoothing = 0, simpoGamma = 0.5, prefBcoWeight = 0;
    double ktoChosenWeight = 1, ktoRejectedWeight = 1;
    std::string prefLoss;
    std::optional<double> ldAlpha;
    std::string refModel;
    std::vector<std::string> refModelAdapters;
    // ---- dataset
    std::vector<std::string> datasets, evalDatasets;
    std::string datasetDir, tokenizedPath;
    std::int64_t cutoffLen = 2048;
    std::optional<std::int64_t> maxSamples;
    std::optional<std::int64_t> workers; ///< preprocessing_num_workers (null: 1)
    bool overwriteCache = false, trainOnPrompt = false, maskHistory = false, neatPacking = false;
    std::optional<bool> packingSet;      ///< packing as given (null: the stage's default, see packing)
    bool enableThinking = true;
    std::string defaultSystem;
    double valSize = 0;
    // ---- output
    std::string outputDir;
    std::int64_t loggingSteps = 5, saveSteps = 500;
    std::optional<std::int64_t> saveTotalLimit;
    bool overwriteOutputDir = false, saveOnlyModel = false, plotLoss = false;
    // ---- train
    std::int64_t batchSize = 8, accumulation = 1, maxSteps = -1, warmupSteps = 0, seed = 42;
    double learningRate = 5e-5, epochs = 3, warmupRatio = 0, weightDecay = 0, beta1 = 0.9, beta2 = 0.999;
    double adamEps = 1e-8, maxGradNorm = 1;
    std::optional<double> neftuneAlpha;
    std::string lrScheduler, resumeFrom;
    bool bf16 = false, fp16 = false, pureBf16 = false, disableGradientCheckpointing = false;
    // ---- eval
    std::int64_t evalBatchSize = 8;
    std::string evalStrategy;
    std::optional<std::int64_t> evalStepsSet; ///< eval_steps as given (null: logging_steps, see evalSteps)
    bool loadBestAtEnd = false;

    // ---- derived (resolve())
    bool packing = false;         ///< packing, defaulting to true for pt (LLaMA-Factory)
    std::int64_t evalSteps = 5;   ///< eval_steps, defaulting to logging_steps
    bool gradientCheckpointing() const { return !disableGradientCheckpointing; }
    double loraAlphaValue() const { return loraAlpha.value_or(double(loraRank * 2)); }
};

/// Binds `args` (already validated by the schema) to the struct and derives the dependent values.
TrainingArguments bindTrainingArguments(const ArgumentSet& args);

/// Problems with the binding table itself: a bound key missing from the schema, or a schema type that does
/// not fit the field it is bound to. Empty when the table is right (the tests check it).
std::vector<std::string> checkTrainingBindings();

/// The schema keys the struct binds, in table order.
std::vector<std::string> boundTrainingKeys();

} // namespace lathe

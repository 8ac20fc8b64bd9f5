#include "model/model_loader.h"

#include <torch/torch.h>

#include "io/safetensors.h"
#include "model/arch/architecture.h"
#include "runtime/host_arena.h"
#include "util/error.h"

namespace lathe {

namespace {

std::string shapeText(const std::vector<std::int64_t>& shape)
{
    std::string out = "[";
    for (std::size_t i = 0; i < shape.size(); ++i)
        out += (i ? ", " : "") + std::to_string(shape[i]);
    return out + "]";
}

void checkTable(const WeightStore& store, const ModelConfig& config)
{
    for (const auto& spec : tensorTable(config)) {
        if (!store.contains(spec.name))
            fail(store.description(), ": missing tensor \"", spec.name, "\" required by ", config.architecture);
        const auto& entry = store.entry(spec.name);
        if (entry.shape != spec.shape)
            fail(store.fileOf(spec.name), ": tensor \"", spec.name, "\" has shape ", shapeText(entry.shape),
                 " but config.json implies ", shapeText(spec.shape));
        if (entry.dtype != "F32" && entry.dtype != "F16" && entry.dtype != "BF16")
            fail(store.fileOf(spec.name), ": tensor \"", spec.name, "\" has dtype ", entry.dtype,
                 "; model weights must be F32, F16 or BF16");
    }
}

} // namespace

void validateWeights(const std::string& dir, const ModelConfig& config)
{
    checkTable(WeightStore::openDir(dir), config);
}

CausalLM loadModel(const std::string& dir, const LoadOptions& options)
{
    ModelConfig config = ModelConfig::fromDir(dir);
    if (const std::string note = applyRopeScalingArgument(config, options.ropeScaling, options.modelMaxLength);
        !note.empty() && options.log)
        options.log(note);
    const WeightStore store = WeightStore::openDir(dir);
    checkTable(store, config);

    CausalLM model(config);
    torch::NoGradGuard noGrad;
    if (options.device.is_cpu()) {
        // CPU: all weights in one huge-page arena (see runtime/host_arena.h), read straight from the file
        // when no conversion is needed, so peak memory stays at about the weights' size.
        std::size_t bytes = 0;
        for (const auto& item : model->named_parameters())
            bytes += HostArena::footprint(item.value().numel(), options.dtype);
        auto arena = HostArena::create(bytes);
        for (auto& item : model->named_parameters()) {
            const auto& entry = store.entry(item.key());
            auto weight = arena->carve(entry.shape, options.dtype);
            if (scalarTypeFromSafetensors(entry.dtype) == options.dtype)
                store.readInto(item.key(), weight.data_ptr());
            else
                weight.copy_(store.get(item.key()));
            item.value().set_data(weight);
        }
        model->eval();
        return model;
    }
    for (auto& item : model->named_parameters()) {
        auto weight = store.get(item.key());
        if (weight.scalar_type() != options.dtype)
            weight = weight.to(options.dtype);
        if (weight.device() != options.device)
            weight = weight.to(options.device);
        item.value().set_data(weight);
    }
    model->eval();
    return model;
}

} // namespace lathe

#include "train/objective.h"

#include <cmath>
#include <filesystem>

#include <torch/torch.h>

#include "io/safetensors.h"
#include "lora/lora_adapter.h"
#include "util/edit_distance.h"
#include "util/error.h"

namespace lathe {

namespace fs = std::filesystem;
namespace F = torch::nn::functional;

// ---------------------------------------------------------------------------------------------------------
// MetricSums
// ---------------------------------------------------------------------------------------------------------

void MetricSums::add(const std::string& name, double sum, double count)
{
    for (auto& e : m_entries)
        if (e.name == name) {
            e.sum += sum;
            e.count += count;
            return;
        }
    m_entries.push_back({name, sum, count});
}

void MetricSums::merge(const MetricSums& other)
{
    for (const auto& e : other.m_entries)
        add(e.name, e.sum, e.count);
}

std::vector<std::pair<std::string, double>> MetricSums::means() const
{
    std::vector<std::pair<std::string, double>> out;
    bool haveMargins = false;
    std::optional<double> chosen, rejected;
    for (const auto& e : m_entries) {
        if (e.count <= 0)
            continue;
        const double mean = e.sum / e.count;
        out.emplace_back(e.name, mean);
        haveMargins |= e.name == "rewards/margins";
        if (e.name == "rewards/chosen")
            chosen = mean;
        if (e.name == "rewards/rejected")
            rejected = mean;
    }
    // CustomKTOTrainer.log: the margin of the averaged rewards, when both kinds were seen.
    if (!haveMargins && chosen && rejected)
        out.emplace_back("rewards/margins", *chosen - *rejected);
    return out;
}

// ---------------------------------------------------------------------------------------------------------
// The base class
// ---------------------------------------------------------------------------------------------------------

void Objective::prepare(CausalLM&, const ObjectiveSetup&) {}

double Objective::weight(const TrainBatch&) const
{
    return 1;
}

void Objective::save(const std::string&) const {}

bool Objective::load(const std::string&)
{
    return false;
}

namespace {

double scalar(const torch::Tensor& t)
{
    return t.detach().to(torch::kFloat64).item<double>();
}

/// 0, 1, ..., T-1 for every row: the positions of a training forward (HF passes no position_ids).
torch::Tensor trainingPositions(const torch::Tensor& inputIds)
{
    const auto B = inputIds.size(0), T = inputIds.size(1);
    return torch::arange(T, inputIds.options().dtype(torch::kLong)).unsqueeze(0).expand({B, T});
}

// ---------------------------------------------------------------------------------------------------------
// sft, pt: next-token cross-entropy
// ---------------------------------------------------------------------------------------------------------

class CausalLmObjective : public Objective
{
public:
    ObjectiveOutput compute(CausalLM& model, const TrainBatch& batch) override
    {
        auto [sum, count] = model->tokenLoss(batch.inputIds, batch.labels, batch.attentionMask);
        (void)count;
        ObjectiveOutput out;
        // Mixture of experts: the router's load-balancing loss joins the loss (LLaMA-Factory sets
        // output_router_logits for MoE models): CE + coef * aux per micro-batch, in the token-sum form.
        const double coef = model->config().router_aux_loss_coef;
        const auto aux = model->routerAuxLoss(batch.attentionMask);
        if (aux.defined() && coef > 0) {
            sum = sum + coef * weight(batch) * aux;
            out.metrics.add("aux_loss", aux.item<double>());
        }
        out.loss = sum;
        return out;
    }
    double weight(const TrainBatch& batch) const override { return double(batch.labeled); }
};

// ---------------------------------------------------------------------------------------------------------
// Reference models (dpo, kto)
// ---------------------------------------------------------------------------------------------------------

/// The frozen model the policy is compared with: the policy with its LoRA adapters off, a frozen copy of the
/// base (full / freeze tuning), or `ref_model`.
class Reference
{
public:
    void prepare(CausalLM& policy, const ObjectiveSetup& setup, const std::string& refModel,
                 const std::vector<std::string>& refAdapters)
    {
        if (!refModel.empty()) {
            m_model = setup.loadFrozen(refModel, refAdapters);
            const auto& a = policy->config();
            const auto& b = m_model->config();
            if (a.vocab_size != b.vocab_size || a.model_type != b.model_type)
                fail("ref_model: ", refModel, " is a ", b.model_type, " model with a vocabulary of ", b.vocab_size,
                     " tokens, but the policy (", setup.modelPath, ") is a ", a.model_type, " model with ",
                     a.vocab_size, ": the reference must share the policy's architecture and tokenizer");
            if (setup.log)
                setup.log("Reference model: " + refModel);
        } else if (!setup.lora) {
            m_model = setup.loadFrozen(setup.modelPath, setup.adapters);
            if (setup.log)
                setup.log("Reference model: a frozen copy of " + setup.modelPath);
        } else if (setup.log) {
            setup.log("Reference model: the policy with its LoRA adapter switched off");
        }
        if (m_model)
            m_model->eval();
    }

    /// Per-position label log-probabilities [R, T-1] of the reference.
    torch::Tensor tokenLogps(CausalLM& policy, const torch::Tensor& ids, const torch::Tensor& mask,
                             const torch::Tensor& labels)
    {
        torch::NoGradGuard noGrad;
        if (m_model) {
            auto h = m_model->hiddenStates(ids, mask, nullptr, trainingPositions(ids));
            return m_model->labelLogProbs(h, labels);
        }
        LoraDisabledScope off(policy);
        auto h = policy->hiddenStates(ids, mask, nullptr, trainingPositions(ids));
        return policy->labelLogProbs(h, labels);
    }

private:
    CausalLM m_model{nullptr};
};

// ---------------------------------------------------------------------------------------------------------
// dpo: the DPO family on pairs
// ---------------------------------------------------------------------------------------------------------

class PreferenceObjective : public Objective
{
public:
    PreferenceObjective(PreferenceOptions options, std::string refModel, std::vector<std::string> refAdapters)
        : m_o(std::move(options)), m_refModel(std::move(refModel)), m_refAdapters(std::move(refAdapters))
    {
    }

    void prepare(CausalLM& model, const ObjectiveSetup& setup) override
    {
        if (m_o.usesReference())
            m_reference.prepare(model, setup, m_refModel, m_refAdapters);
    }

    ObjectiveOutput compute(CausalLM& model, const TrainBatch& batch) override
    {
        const auto& ids = batch.inputIds;
        const std::int64_t n = ids.size(0) / 2;
        auto hidden = model->hiddenStates(ids, batch.attentionMask, nullptr, trainingPositions(ids));
        auto [policy, valid] = sequenceLogProbs(model->labelLogProbs(hidden, batch.labels), batch.labels, m_o.ldAlpha);
        const auto logitSums = model->logitSums(hidden);
        const auto length = valid.to(torch::kFloat32);
        if (m_o.averages())
            policy = policy / length;
        const auto c = policy.narrow(0, 0, n), r = policy.narrow(0, n, n);
        const auto chosenAvg = m_o.averages() ? c : c / length.narrow(0, 0, n);

        torch::Tensor rc, rr;
        double delta = 0;
        if (m_o.usesReference()) {
            auto [ref, refValid] = sequenceLogProbs(
                m_reference.tokenLogps(model, ids, batch.attentionMask, batch.labels), batch.labels);
            if (m_o.averages())
                ref = ref / refValid.to(torch::kFloat32);
            rc = ref.narrow(0, 0, n);
            rr = ref.narrow(0, n, n);
            if (m_o.bcoWeight > 1e-6 && torch::GradMode::is_enabled()) {
                // trl's RunningMoments over the mean reward of each training batch (count starts at 1e-24).
                const double rewards =
                    scalar(torch::cat({m_o.beta * (c - rc), m_o.beta * (r - rr)}).mean());
                m_bcoCount += 1;
                m_bcoMean += (rewards - m_bcoMean) / (m_bcoCount + 1e-24);
            }
            delta = m_bcoMean;
        }
        auto result = preferenceLosses(m_o, c, r, rc, rr, delta);
        auto losses = result.losses;
        const auto sft = -chosenAvg;
        if (m_o.ftx > 1e-6)
            losses = losses + m_o.ftx * sft;

        ObjectiveOutput out;
        out.loss = losses.mean();
        const auto& cr = result.chosenRewards;
        const auto& rj = result.rejectedRewards;
        const double vocab = double(model->config().vocab_size), T = double(ids.size(1));
        auto& m = out.metrics;
        m.add("rewards/chosen", scalar(cr.mean()));
        m.add("rewards/rejected", scalar(rj.mean()));
        m.add("rewards/accuracies", scalar((cr > rj).to(torch::kFloat32).mean()));
        m.add("rewards/margins", scalar((cr - rj).mean()));
        m.add("logps/chosen", scalar(c.mean()));
        m.add("logps/rejected", scalar(r.mean()));
        m.add("logits/chosen", scalar(logitSums.narrow(0, 0, n).sum()) / (double(n) * T * vocab));
        m.add("logits/rejected", scalar(logitSums.narrow(0, n, n).sum()) / (double(n) * T * vocab));
        if (m_o.loss == "orpo") {
            m.add("sft_loss", scalar(sft.mean()));
            m.add("odds_ratio_loss", scalar(((losses - sft) / m_o.beta).mean()));
        }
        return out;
    }

    int rowsPerExample() const override { return 2; }

private:
    PreferenceOptions m_o;
    std::string m_refModel;
    std::vector<std::string> m_refAdapters;
    Reference m_reference;
    double m_bcoMean = 0, m_bcoCount = 0;
};

// ---------------------------------------------------------------------------------------------------------
// kto: desirable / undesirable answers with a KL estimate
// ---------------------------------------------------------------------------------------------------------

class KtoObjective : public Objective
{
public:
    KtoObjective(double beta, double ftx, double chosenWeight, double rejectedWeight, std::string refModel,
                 std::vector<std::string> refAdapters)
        : m_beta(beta), m_ftx(ftx), m_chosenWeight(chosenWeight), m_rejectedWeight(rejectedWeight),
          m_refModel(std::move(refModel)), m_refAdapters(std::move(refAdapters))
    {
    }

    void prepare(CausalLM& model, const ObjectiveSetup& setup) override
    {
        m_reference.prepare(model, setup, m_refModel, m_refAdapters);
    }

    ObjectiveOutput compute(CausalLM& model, const TrainBatch& batch) override
    {
        const auto& ids = batch.inputIds;
        auto hidden = model->hiddenStates(ids, batch.attentionMask, nullptr, trainingPositions(ids));
        auto [target, valid] = sequenceLogProbs(model->labelLogProbs(hidden, batch.labels), batch.labels);
        const auto logitSums = model->logitSums(hidden);
        const auto targetAvg = target / valid.to(torch::kFloat32);
        torch::Tensor klLogps;
        {
            torch::NoGradGuard noGrad; // the KL rows never train (LLaMA-Factory runs them under no_grad)
            auto h = model->hiddenStates(batch.klInputIds, batch.klAttentionMask, nullptr,
                                         trainingPositions(batch.klInputIds));
            klLogps = sequenceLogProbs(model->labelLogProbs(h, batch.klLabels), batch.klLabels).first;
        }
        const auto refTarget =
            sequenceLogProbs(m_reference.tokenLogps(model, ids, batch.attentionMask, batch.labels), batch.labels).first;
        const auto refKl = sequenceLogProbs(m_reference.tokenLogps(model, batch.klInputIds, batch.klAttentionMask,
                                                                   batch.klLabels),
                                            batch.klLabels)
                               .first;

        const auto tags = batch.desirable.to(ids.device()).to(torch::kBool);
        const auto chosenIdx = tags.nonzero().reshape({-1});
        const auto rejectedIdx = tags.logical_not().nonzero().reshape({-1});
        const auto c = target.index_select(0, chosenIdx), r = target.index_select(0, rejectedIdx);
        auto k = ktoLosses(m_beta, m_chosenWeight, m_rejectedWeight, c, r, klLogps, refTarget.index_select(0, chosenIdx),
                           refTarget.index_select(0, rejectedIdx), refKl);
        auto loss = k.losses.nanmean();
        const auto nChosen = chosenIdx.numel(), nRejected = rejectedIdx.numel();
        if (m_ftx > 1e-6 && nChosen > 0)
            loss = loss + m_ftx * (-targetAvg.index_select(0, chosenIdx)).nanmean() / double(nChosen) *
                              double(ids.size(0));

        ObjectiveOutput out;
        out.loss = loss;
        auto& m = out.metrics;
        if (nChosen > 0) {
            m.add("rewards/chosen", scalar(k.chosenRewards.nansum()), double(nChosen));
            m.add("logps/chosen", scalar(c.nansum()), double(nChosen));
            m.add("logits/chosen", scalar(logitSums.index_select(0, chosenIdx).sum()), double(nChosen));
        }
        if (nRejected > 0) {
            m.add("rewards/rejected", scalar(k.rejectedRewards.nansum()), double(nRejected));
            m.add("logps/rejected", scalar(r.nansum()), double(nRejected));
            m.add("logits/rejected", scalar(logitSums.index_select(0, rejectedIdx).sum()), double(nRejected));
        }
        m.add("kl", scalar(k.kl));
        return out;
    }

private:
    double m_beta, m_ftx, m_chosenWeight, m_rejectedWeight;
    std::string m_refModel;
    std::vector<std::string> m_refAdapters;
    Reference m_reference;
};

// ---------------------------------------------------------------------------------------------------------
// rm: a value head on the last hidden state, pairwise loss
// ---------------------------------------------------------------------------------------------------------

constexpr const char* kValueHeadFile = "value_head.safetensors";

class RewardObjective : public Objective
{
public:
    explicit RewardObjective(std::uint64_t seed) : m_seed(seed) {}

    void prepare(CausalLM& model, const ObjectiveSetup& setup) override
    {
        const auto H = model->config().hidden_size;
        const auto device = model->device();
        // trl's ValueHead: nn.Linear(hidden, 1), torch's default init (U(-1/sqrt(H), 1/sqrt(H)) for both).
        torch::NoGradGuard noGrad;
        auto gen = at::detail::createCPUGenerator(m_seed);
        const double bound = 1.0 / std::sqrt(double(H));
        m_weight = torch::empty({1, H}, torch::kFloat32).uniform_(-bound, bound, gen).to(device);
        m_bias = torch::empty({1}, torch::kFloat32).uniform_(-bound, bound, gen).to(device);
        // LLaMA-Factory reads the head from the last adapter, else from the model folder (a full-tuned RM).
        std::string from = setup.adapters.empty() ? setup.modelPath : setup.adapters.back();
        if (load(from)) {
            if (setup.log)
                setup.log("Loaded the value head of " + (fs::path(from) / kValueHeadFile).string());
        } else if (setup.log) {
            setup.log("Value head: new, Linear(" + std::to_string(H) + ", 1)");
        }
        m_weight.requires_grad_(true);
        m_bias.requires_grad_(true);
    }

    ObjectiveOutput compute(CausalLM& model, const TrainBatch& batch) override
    {
        const auto& ids = batch.inputIds;
        const std::int64_t n = ids.size(0) / 2, H = model->config().hidden_size;
        auto hidden = model->hiddenStates(ids, batch.attentionMask, nullptr, trainingPositions(ids));
        // The score is the value at the last real token (right padding).
        const auto last = batch.attentionMask.to(hidden.device()).sum(-1).sub(1).to(torch::kLong); // [2n]
        auto picked = hidden.gather(1, last.view({-1, 1, 1}).expand({-1, 1, H})).squeeze(1).to(torch::kFloat32);
        if (model->is_training()) // trl's ValueHead: Dropout(0.1) before the summary layer
            picked = torch::dropout(picked, 0.1, true);
        const auto scores = torch::linear(picked, m_weight, m_bias).squeeze(-1); // [2n]
        const auto chosen = scores.narrow(0, 0, n), rejected = scores.narrow(0, n, n);
        ObjectiveOutput out;
        out.loss = -F::logsigmoid(chosen - rejected).mean();
        out.metrics.add("accuracy", scalar((chosen > rejected).to(torch::kFloat32).sum()), double(n));
        return out;
    }

    std::vector<std::pair<std::string, torch::Tensor>> parameters() override
    {
        return {{"v_head.summary.weight", m_weight}, {"v_head.summary.bias", m_bias}};
    }

    void save(const std::string& dir) const override
    {
        NamedTensors tensors = {{"v_head.summary.weight", m_weight.detach().to(torch::kCPU).to(torch::kFloat32)},
                                {"v_head.summary.bias", m_bias.detach().to(torch::kCPU).to(torch::kFloat32)}};
        saveSafetensors((fs::path(dir) / kValueHeadFile).string(), tensors, {{"format", "pt"}});
    }

    bool load(const std::string& dir) override
    {
        const auto path = fs::path(dir) / kValueHeadFile;
        if (dir.empty() || !fs::exists(path))
            return false;
        const auto store = WeightStore::openFile(path.string());
        torch::NoGradGuard noGrad;
        for (auto& [name, t] : parameters()) {
            if (!store.contains(name))
                fail(path.string(), ": no tensor ", name, " (a value head has v_head.summary.weight and .bias)");
            const auto saved = store.get(name);
            if (!saved.sizes().equals(t.sizes()))
                fail(path.string(), ": ", name, " has shape ", saved.sizes(), ", the model needs ", t.sizes());
            t.copy_(saved);
        }
        return true;
    }

    int rowsPerExample() const override { return 2; }

private:
    std::uint64_t m_seed;
    torch::Tensor m_weight, m_bias;
};

PreferenceOptions preferenceOptionsOf(const TrainingArguments& a)
{
    PreferenceOptions o;
    o.loss = a.prefLoss;
    o.beta = a.prefBeta;
    o.ftx = a.prefFtx;
    o.labelSmoothing = a.dpoLabelSmoothing;
    o.simpoGamma = a.simpoGamma;
    o.bcoWeight = a.prefBcoWeight;
    o.ldAlpha = a.ldAlpha;
    // LLaMA-Factory's FinetuningArguments checks.
    if (o.labelSmoothing > 0 && o.loss != "sigmoid")
        fail("dpo_label_smoothing: only the sigmoid loss takes label smoothing (pref_loss is ", o.loss, ")");
    if (o.bcoWeight > 1e-6 && !o.usesReference())
        fail("pref_bco_weight: BCO needs a reference model, which pref_loss ", o.loss, " does not use");
    return o;
}

using Factory = std::unique_ptr<Objective> (*)(const TrainingArguments&);

// The objectives by stage. A new stage: its objective class above (or in its own file) and one line here,
// plus its line in config/stages.cpp.
const std::vector<std::pair<std::string, Factory>>& factories()
{
    static const std::vector<std::pair<std::string, Factory>> table = {
        {"sft", [](const TrainingArguments&) -> std::unique_ptr<Objective> { return std::make_unique<CausalLmObjective>(); }},
        {"pt", [](const TrainingArguments&) -> std::unique_ptr<Objective> { return std::make_unique<CausalLmObjective>(); }},
        {"dpo",
         [](const TrainingArguments& a) -> std::unique_ptr<Objective> {
             return std::make_unique<PreferenceObjective>(preferenceOptionsOf(a), a.refModel, a.refModelAdapters);
         }},
        {"kto",
         [](const TrainingArguments& a) -> std::unique_ptr<Objective> {
             return std::make_unique<KtoObjective>(a.prefBeta, a.prefFtx, a.ktoChosenWeight, a.ktoRejectedWeight,
                                                   a.refModel, a.refModelAdapters);
         }},
        {"rm",
         [](const TrainingArguments& a) -> std::unique_ptr<Objective> {
             return std::make_unique<RewardObjective>(std::uint64_t(a.seed));
         }},
    };
    return table;
}

} // namespace

std::unique_ptr<Objective> makeObjective(const std::string& stage, const TrainingArguments& args)
{
    for (const auto& [name, make] : factories())
        if (name == stage)
            return make(args);
    fail("stage: \"", stage, "\" has no training objective in Lathe");
}

std::vector<std::string> objectiveStages()
{
    std::vector<std::string> names;
    for (const auto& entry : factories())
        names.push_back(entry.first);
    return names;
}

// ---------------------------------------------------------------------------------------------------------
// The losses
// ---------------------------------------------------------------------------------------------------------

std::pair<torch::Tensor, torch::Tensor> sequenceLogProbs(const torch::Tensor& tokenLogps, const torch::Tensor& labels,
                                                         std::optional<double> ldAlpha)
{
    const auto T = labels.size(1);
    const auto mask = labels.narrow(1, 1, T - 1).to(tokenLogps.device()).ne(-100); // [R, T-1]
    const auto valid = mask.sum(-1);
    if (!ldAlpha)
        return {(tokenLogps * mask).sum(-1), valid};
    // LD-DPO (get_batch_logps with ld_alpha): the first min(len_chosen, len_rejected) learned positions of
    // each pair count fully, the rest times alpha.
    const auto n = labels.size(0) / 2;
    const auto shortest = torch::min(valid.narrow(0, 0, n), valid.narrow(0, n, n));
    const auto start = mask.to(torch::kInt).argmax(1);
    const auto publicLength = start + torch::cat({shortest, shortest});
    const auto position = torch::arange(T - 1, labels.options().dtype(torch::kLong).device(tokenLogps.device()))
                              .unsqueeze(0)
                              .expand_as(tokenLogps);
    const auto front = position < publicLength.unsqueeze(1);
    const auto frontLogps = (tokenLogps * (front & mask).to(torch::kFloat32)).sum(-1);
    const auto rearLogps = (tokenLogps * (front.logical_not() & mask).to(torch::kFloat32)).sum(-1);
    return {frontLogps + *ldAlpha * rearLogps, valid};
}

PreferenceLosses preferenceLosses(const PreferenceOptions& o, const torch::Tensor& c, const torch::Tensor& r,
                                  const torch::Tensor& rc, const torch::Tensor& rr, double bcoDelta)
{
    PreferenceLosses out;
    const double beta = o.beta;
    if (o.loss == "orpo") {
        // odds_ratio_loss
        const auto logOdds = (c - r) - (torch::log1p(-torch::exp(c)) - torch::log1p(-torch::exp(r)));
        out.losses = -c + beta * (-F::logsigmoid(logOdds));
    } else if (o.loss == "simpo") {
        const auto logits = (c - r) - o.simpoGamma / beta;
        out.losses = -F::logsigmoid(beta * logits);
    }
    if (!o.usesReference()) {
        out.chosenRewards = beta * c.detach();
        out.rejectedRewards = beta * r.detach();
        return out;
    }
    // trl dpo_loss (reverse KL, with a reference).
    const auto logits = (c - r) - (rc - rr);
    if (o.loss == "sigmoid")
        out.losses = -F::logsigmoid(beta * logits) * (1 - o.labelSmoothing) -
                     F::logsigmoid(-beta * logits) * o.labelSmoothing;
    else if (o.loss == "hinge")
        out.losses = torch::relu(1 - beta * logits);
    else if (o.loss == "ipo")
        out.losses = (logits - 1 / (2 * beta)).pow(2);
    else
        fail("pref_loss: \"", o.loss, "\" is not a preference loss Lathe knows (sigmoid, hinge, ipo, orpo, simpo)");
    out.chosenRewards = beta * (c - rc).detach();
    out.rejectedRewards = beta * (r - rr).detach();
    if (o.bcoWeight > 1e-6) {
        // MPO: the DPO loss mixed with BCO around the running mean reward.
        const auto bco = -F::logsigmoid(beta * (c - rc) - bcoDelta) - F::logsigmoid(-(beta * (r - rr) - bcoDelta));
        out.losses = (out.losses + bco * o.bcoWeight) / (1.0 + o.bcoWeight);
    }
    return out;
}

KtoLosses ktoLosses(double beta, double chosenWeight, double rejectedWeight, const torch::Tensor& c,
                    const torch::Tensor& r, const torch::Tensor& klLogps, const torch::Tensor& rc,
                    const torch::Tensor& rr, const torch::Tensor& refKlLogps)
{
    KtoLosses out;
    out.kl = (klLogps - refKlLogps).mean().detach().clamp_min(0);
    const auto chosenRatio = c - rc, rejectedRatio = r - rr;
    const auto chosenLosses = 1 - torch::sigmoid(beta * (chosenRatio - out.kl));
    const auto rejectedLosses = 1 - torch::sigmoid(beta * (out.kl - rejectedRatio));
    out.chosenRewards = beta * chosenRatio.detach();
    out.rejectedRewards = beta * rejectedRatio.detach();
    out.losses = torch::cat({chosenWeight * chosenLosses, rejectedWeight * rejectedLosses});
    return out;
}

} // namespace lathe

#include "train/parallel_adamw.h"

#include <algorithm>
#include <cmath>
#include <map>

#include <torch/torch.h>

#include "dist/communicator.h"
#include "util/error.h"

namespace lathe {

struct ParallelAdamW::Bucket
{
    std::vector<std::size_t> members;  ///< parameter indices
    std::vector<std::int64_t> offsets; ///< each member's place in the flat bucket
    std::int64_t numel = 0, chunk = 0; ///< elements; each worker's part (the bucket padded to workers x chunk)
    torch::ScalarType dtype = torch::kFloat32; ///< of the exchanged values
    torch::Device device = torch::kCPU;
    torch::Tensor flat;  ///< workers x chunk (stages 0 and 1: kept; stage 2: during finishBackward only)
    torch::Tensor owned; ///< stage 2: the summed gradient of this worker's part
    int pending = 0;
    bool launched = false, dirty = false;
    std::unique_ptr<Communicator::Pending> work;

    /// This worker's part as pieces of parameters (sharded stages), in the order of m_adam's parameters.
    struct Segment
    {
        std::size_t member = 0;
        std::int64_t paramOffset = 0, chunkOffset = 0, length = 0;
        std::size_t adamIndex = 0;
    };
    std::vector<Segment> segments;
};

namespace {

torch::ScalarType exchangeType(torch::ScalarType t, const std::string& backend)
{
    // Gloo's collectives take float, double and half; bf16 goes as float32 (exactly representable).
    return backend == "gloo" && t == torch::kBFloat16 ? torch::kFloat32 : t;
}

torch::Tensor flatView(const torch::Tensor& t, const std::string& name)
{
    if (!t.is_contiguous())
        fail("data-parallel training needs contiguous parameters; ", name, " is not");
    return t.detach().view({-1});
}

} // namespace

ParallelAdamW::ParallelAdamW(Communicator& comm, std::vector<std::pair<std::string, torch::Tensor>> params,
                             AdamWOptions options, const std::vector<bool>& decay, ParallelOptions parallel)
    : m_comm(comm), m_workers(comm.size()), m_rank(comm.rank()), m_parallel(parallel), m_params(std::move(params))
{
    if (m_parallel.zeroStage < 0 || m_parallel.zeroStage > 2)
        fail("ZeRO stage ", m_parallel.zeroStage, " is not one Lathe shards (0, 1 or 2)");
    if (m_workers == 1) {
        m_adam = std::make_unique<AdamW>(m_params, options, decay);
        return;
    }
    torch::NoGradGuard noGrad;
    // Buckets in backward order (the last parameters' gradients come first), one dtype and device each.
    m_place.assign(m_params.size(), {0, 0});
    Bucket* open = nullptr;
    std::int64_t openBytes = 0;
    for (std::size_t k = m_params.size(); k-- > 0;) {
        const auto& t = m_params[k].second;
        const auto type = exchangeType(t.scalar_type(), comm.backend());
        const std::int64_t bytes = t.numel() * torch::elementSize(type);
        if (!open || open->dtype != type || open->device != t.device() ||
            (openBytes > 0 && openBytes + bytes > m_parallel.bucketBytes)) {
            m_buckets.push_back(std::make_unique<Bucket>());
            open = m_buckets.back().get();
            open->dtype = type;
            open->device = t.device();
            openBytes = 0;
        }
        m_place[k] = {m_buckets.size() - 1, open->members.size()};
        open->members.push_back(k);
        open->offsets.push_back(open->numel);
        open->numel += t.numel();
        openBytes += bytes;
    }
    std::vector<std::pair<std::string, torch::Tensor>> adamParams;
    std::vector<bool> adamDecay;
    for (auto& b : m_buckets) {
        b->chunk = (b->numel + m_workers - 1) / m_workers;
        if (m_parallel.zeroStage < 2)
            b->flat = torch::zeros({b->chunk * m_workers}, torch::TensorOptions().dtype(b->dtype).device(b->device));
        if (!sharded())
            continue;
        // This worker's part: [rank x chunk, (rank + 1) x chunk) of the flat bucket, cut at parameter edges.
        const std::int64_t begin = m_rank * b->chunk, end = std::min(b->numel, begin + b->chunk);
        for (std::size_t m = 0; m < b->members.size(); ++m) {
            const std::int64_t a = std::max(begin, b->offsets[m]);
            const std::int64_t z = std::min(end, b->offsets[m] + m_params[b->members[m]].second.numel());
            if (a >= z)
                continue;
            Bucket::Segment s{m, a - b->offsets[m], a - begin, z - a, adamParams.size()};
            const auto& [name, value] = m_params[b->members[m]];
            adamParams.emplace_back(name + "@" + std::to_string(s.paramOffset),
                                    flatView(value, name).narrow(0, s.paramOffset, s.length));
            adamDecay.push_back(decay.empty() ? true : bool(decay[b->members[m]]));
            b->segments.push_back(s);
        }
    }
    m_adam = sharded() ? std::make_unique<AdamW>(adamParams, options, adamDecay)
                       : std::make_unique<AdamW>(m_params, options, decay);
    m_seen.assign(m_params.size(), false);
    m_hadGrad.assign(m_params.size(), false);
    for (std::size_t k = 0; k < m_params.size(); ++k)
        m_hooks.push_back(m_params[k].second.register_hook([this, k](torch::Tensor g) { onGradient(k, g); }));
}

ParallelAdamW::~ParallelAdamW()
{
    for (std::size_t k = 0; k < m_hooks.size(); ++k) {
        try {
            m_params[k].second.remove_hook(m_hooks[k]);
        } catch (...) {
        }
    }
}

void ParallelAdamW::broadcastParameters()
{
    if (m_workers == 1)
        return;
    torch::NoGradGuard noGrad;
    for (auto& [name, t] : m_params) {
        auto carrier = t.detach().to(exchangeType(t.scalar_type(), m_comm.backend())).contiguous().clone();
        m_comm.broadcast(carrier, 0);
        t.detach().copy_(carrier);
    }
}

void ParallelAdamW::beginLastBackward()
{
    if (m_workers == 1)
        return;
    std::fill(m_seen.begin(), m_seen.end(), false);
    for (auto& b : m_buckets) {
        b->pending = int(b->members.size());
        b->launched = b->dirty = false;
        b->work.reset();
        if (m_parallel.zeroStage >= 2) {
            // The full gradient buckets exist only during this backward pass; each worker keeps its part.
            b->flat = torch::zeros({b->chunk * m_workers}, torch::TensorOptions().dtype(b->dtype).device(b->device));
            b->owned = torch::empty({b->chunk}, b->flat.options());
        }
    }
    m_armed = true;
}

void ParallelAdamW::fillSlot(Bucket& b, std::size_t member)
{
    const auto& t = m_params[b.members[member]].second;
    auto slot = b.flat.narrow(0, b.offsets[member], t.numel());
    if (t.grad().defined())
        slot.copy_(t.grad().reshape({-1}));
    else
        slot.zero_();
}

void ParallelAdamW::launch(Bucket& b)
{
    b.work = m_parallel.zeroStage >= 2 ? m_comm.reduceScatterSumAsync(b.flat, b.owned) : m_comm.allReduceSumAsync(b.flat);
    b.launched = true;
}

void ParallelAdamW::onGradient(std::size_t k, const torch::Tensor& grad)
{
    // Called by autograd before `grad` is added to the parameter's .grad: the slot gets the sum it is about
    // to have. A parameter that receives a second gradient after its bucket left marks the bucket dirty
    // (reduced again at the end).
    if (!m_armed)
        return;
    torch::NoGradGuard noGrad;
    auto& [bi, member] = m_place[k];
    Bucket& b = *m_buckets[bi];
    if (b.launched) {
        b.dirty = true; // its buffer is being sent: filled again from .grad after the backward pass
        return;
    }
    const auto& t = m_params[k].second;
    auto slot = b.flat.narrow(0, b.offsets[member], t.numel());
    if (t.grad().defined())
        slot.copy_((t.grad() + grad).reshape({-1}));
    else
        slot.copy_(grad.reshape({-1}));
    if (m_seen[k])
        return;
    m_seen[k] = true;
    if (--b.pending == 0)
        launch(b);
}

void ParallelAdamW::finishBackward()
{
    if (m_workers == 1)
        return;
    m_armed = false;
    torch::NoGradGuard noGrad;
    for (std::size_t k = 0; k < m_params.size(); ++k)
        m_hadGrad[k] = m_params[k].second.grad().defined();
    // Buckets the backward pass did not complete go now; a bucket that got a gradient after it left goes again.
    for (auto& bp : m_buckets) {
        Bucket& b = *bp;
        if (!b.launched) {
            for (std::size_t m = 0; m < b.members.size(); ++m)
                if (!m_seen[b.members[m]])
                    fillSlot(b, m);
            launch(b);
        } else if (b.dirty) {
            b.work->wait();
            for (std::size_t m = 0; m < b.members.size(); ++m)
                fillSlot(b, m);
            launch(b);
        }
    }
    for (auto& bp : m_buckets) {
        Bucket& b = *bp;
        b.work->wait();
        b.work.reset();
        if (m_parallel.zeroStage >= 2) {
            // Reduce-scattered: this worker holds the summed gradient of its part; the rest is freed.
            b.flat = torch::Tensor();
            for (auto m : b.members)
                m_params[m].second.mutable_grad() = torch::Tensor();
        } else {
            for (std::size_t m = 0; m < b.members.size(); ++m) {
                auto& t = m_params[b.members[m]].second;
                if (!m_hadGrad[b.members[m]])
                    continue;
                auto summed = b.flat.narrow(0, b.offsets[m], t.numel()).view(t.sizes());
                t.mutable_grad() = summed.scalar_type() == t.scalar_type() ? summed : summed.to(t.scalar_type());
            }
        }
        if (!sharded())
            continue;
        auto& adam = m_adam->params();
        for (const auto& s : b.segments) {
            const std::size_t k = b.members[s.member];
            auto& seg = adam[s.adamIndex].value;
            if (!m_hadGrad[k]) {
                seg.mutable_grad() = torch::Tensor();
                continue;
            }
            auto g = m_parallel.zeroStage >= 2 ? b.owned.narrow(0, s.chunkOffset, s.length)
                                               : flatView(m_params[k].second.grad(), m_params[k].first)
                                                     .narrow(0, s.paramOffset, s.length);
            seg.mutable_grad() = g.scalar_type() == seg.scalar_type() ? g : g.to(seg.scalar_type());
        }
    }
}

double ParallelAdamW::clipGradNorm(double maxNorm)
{
    if (!sharded())
        return m_adam->clipGradNorm(maxNorm);
    // The parts' squares summed over the workers: the norm of the whole gradient.
    torch::NoGradGuard noGrad;
    auto total = torch::zeros({1}, torch::kFloat64);
    for (const auto& p : m_adam->params())
        if (p.value.grad().defined())
            total += p.value.grad().to(torch::kFloat32).pow(2).sum().to(torch::kFloat64).cpu();
    const auto device = m_buckets.empty() ? torch::Device(torch::kCPU) : m_buckets.front()->device;
    auto carrier = total.to(device);
    m_comm.allReduceSum(carrier);
    const double norm = std::sqrt(carrier.cpu().item<double>());
    if (maxNorm > 0) {
        const double coef = maxNorm / (norm + 1e-6);
        if (coef < 1)
            for (auto& p : m_adam->params())
                if (p.value.grad().defined())
                    p.value.mutable_grad().mul_(coef);
    }
    return norm;
}

void ParallelAdamW::step(double lr)
{
    m_adam->step(lr);
    if (!sharded())
        return;
    // Every worker stepped its part: the parts gathered into every worker's parameters.
    torch::NoGradGuard noGrad;
    for (auto& bp : m_buckets) {
        Bucket& b = *bp;
        auto mine = torch::zeros({b.chunk}, torch::TensorOptions().dtype(b.dtype).device(b.device));
        for (const auto& s : b.segments)
            mine.narrow(0, s.chunkOffset, s.length).copy_(m_adam->params()[s.adamIndex].value);
        auto all = torch::empty({b.chunk * m_workers}, mine.options());
        m_comm.allGather(mine, all);
        for (std::size_t m = 0; m < b.members.size(); ++m) {
            auto& [name, t] = m_params[b.members[m]];
            flatView(t, name).copy_(all.narrow(0, b.offsets[m], t.numel()));
        }
    }
}

void ParallelAdamW::zeroGrad()
{
    m_adam->zeroGrad();
    for (auto& [name, t] : m_params)
        if (t.grad().defined())
            t.mutable_grad() = torch::Tensor();
    for (auto& b : m_buckets)
        b->owned = torch::Tensor();
}

std::int64_t ParallelAdamW::steps() const
{
    return m_adam->steps();
}

std::int64_t ParallelAdamW::stateBytes() const
{
    std::int64_t bytes = 0;
    for (const auto& p : m_adam->params())
        if (p.expAvg.defined())
            bytes += p.expAvg.numel() * p.expAvg.element_size() + p.expAvgSq.numel() * p.expAvgSq.element_size();
    return bytes;
}

std::vector<std::pair<std::string, torch::Tensor>> ParallelAdamW::stateTensors()
{
    if (!sharded())
        return m_adam->stateTensors();
    // Each worker's moments into its part of a float32 bucket, gathered, then cut back into parameters.
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> avg(m_params.size()), avgSq(m_params.size());
    bool any = false;
    for (auto& bp : m_buckets) {
        Bucket& b = *bp;
        const auto options = torch::TensorOptions().dtype(torch::kFloat32).device(b.device);
        auto mineA = torch::zeros({b.chunk}, options), mineS = torch::zeros({b.chunk}, options);
        auto defined = torch::zeros({1}, options);
        for (const auto& s : b.segments) {
            const auto& p = m_adam->params()[s.adamIndex];
            if (!p.expAvg.defined())
                continue;
            mineA.narrow(0, s.chunkOffset, s.length).copy_(p.expAvg);
            mineS.narrow(0, s.chunkOffset, s.length).copy_(p.expAvgSq);
            defined.fill_(1);
        }
        auto allA = torch::empty({b.chunk * m_workers}, options), allS = torch::empty({b.chunk * m_workers}, options);
        m_comm.allGather(mineA, allA);
        m_comm.allGather(mineS, allS);
        m_comm.allReduceMax(defined);
        if (defined.cpu().item<float>() == 0)
            continue;
        any = true;
        for (std::size_t m = 0; m < b.members.size(); ++m) {
            const auto& t = m_params[b.members[m]].second;
            avg[b.members[m]] = allA.narrow(0, b.offsets[m], t.numel()).view(t.sizes()).to(torch::kCPU, t.scalar_type());
            avgSq[b.members[m]] =
                allS.narrow(0, b.offsets[m], t.numel()).view(t.sizes()).to(torch::kCPU, t.scalar_type());
        }
    }
    std::vector<std::pair<std::string, torch::Tensor>> out;
    if (!any)
        return out;
    for (std::size_t k = 0; k < m_params.size(); ++k)
        if (avg[k].defined()) {
            out.emplace_back(m_params[k].first + ".exp_avg", avg[k].contiguous());
            out.emplace_back(m_params[k].first + ".exp_avg_sq", avgSq[k].contiguous());
        }
    return out;
}

void ParallelAdamW::loadState(const std::vector<std::pair<std::string, torch::Tensor>>& tensors, std::int64_t steps,
                              const std::string& origin)
{
    if (!sharded()) {
        m_adam->loadState(tensors, steps, origin);
        return;
    }
    std::map<std::string, torch::Tensor> byName(tensors.begin(), tensors.end());
    std::vector<std::pair<std::string, torch::Tensor>> parts;
    for (auto& bp : m_buckets)
        for (const auto& s : bp->segments) {
            const auto& [name, t] = m_params[bp->members[s.member]];
            const auto a = byName.find(name + ".exp_avg"), q = byName.find(name + ".exp_avg_sq");
            if (a == byName.end() || q == byName.end()) {
                if (steps == 0)
                    continue;
                fail(origin, ": no optimizer state for ", name, " (was the checkpoint made with other settings?)");
            }
            if (a->second.numel() != t.numel() || q->second.numel() != t.numel())
                fail(origin, ": optimizer state for ", name, " has shape ", a->second.sizes(), ", the parameter ",
                     t.sizes());
            const std::string part = m_adam->params()[s.adamIndex].name;
            parts.emplace_back(part + ".exp_avg", a->second.reshape({-1}).narrow(0, s.paramOffset, s.length));
            parts.emplace_back(part + ".exp_avg_sq", q->second.reshape({-1}).narrow(0, s.paramOffset, s.length));
        }
    m_adam->loadState(parts, steps, origin);
}

} // namespace lathe

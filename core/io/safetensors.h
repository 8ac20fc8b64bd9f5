// Reading and writing the safetensors format (Hugging Face), the weight format of every model and adapter.
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON describing each tensor
// ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}), then the raw data.
// Files are mapped, never read whole: tensors are zero-copy views on the mapping and pages load on first
// touch. Every structural problem is rejected at open() with a message naming the file and the tensor.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "io/safetensors_header.h"

namespace lathe {

class MappedFile;

/// One mapped safetensors file.
class SafetensorsFile
{
public:
    /// Maps and validates `path`; throws lathe::Error on any malformed header.
    static std::shared_ptr<SafetensorsFile> open(const std::string& path);

    const std::string& path() const;
    const std::map<std::string, SafetensorsEntry>& entries() const { return m_entries; }
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    bool contains(const std::string& name) const { return m_entries.count(name) != 0; }
    const SafetensorsEntry& entry(const std::string& name) const;

    /// A CPU tensor viewing the mapped bytes (copy-on-write; the mapping lives as long as the tensor).
    at::Tensor tensor(const std::string& name) const;
    /// Reads the tensor's bytes into `dst` (entry(name).end - begin bytes) with read(2), not through the
    /// mapping, so that the file's pages do not count towards the process's memory.
    void readInto(const std::string& name, void* dst) const;

private:
    std::shared_ptr<MappedFile> m_file;
    std::uint64_t m_dataStart = 0;
    std::map<std::string, SafetensorsEntry> m_entries;
    std::map<std::string, std::string> m_metadata;
};

/// The weights of a model folder: `model.safetensors`, or the shards listed by `model.safetensors.index.json`.
/// Also works for any other `<stem>.safetensors` / `<stem>.safetensors.index.json` pair (adapters).
class WeightStore
{
public:
    /// Opens the weights of `dir` with file stem `stem`; throws lathe::Error when none exist or a shard is bad.
    static WeightStore openDir(const std::string& dir, const std::string& stem = "model");
    /// Opens a single safetensors file.
    static WeightStore openFile(const std::string& path);

    std::vector<std::string> names() const;
    bool contains(const std::string& name) const { return m_where.count(name) != 0; }
    const SafetensorsEntry& entry(const std::string& name) const;
    /// The file the tensor lives in (for error messages).
    std::string fileOf(const std::string& name) const;
    /// Zero-copy CPU view of the tensor; throws lathe::Error naming the tensor when it is missing.
    at::Tensor get(const std::string& name) const;
    /// Copies the tensor's raw bytes into `dst` (see SafetensorsFile::readInto).
    void readInto(const std::string& name, void* dst) const;
    const std::string& description() const { return m_description; }

private:
    std::string m_description;
    std::vector<std::shared_ptr<SafetensorsFile>> m_files;
    std::map<std::string, std::size_t> m_where;
};

/// Maps safetensors dtype strings to torch scalar types; throws lathe::Error for unknown names.
at::ScalarType scalarTypeFromSafetensors(const std::string& dtype);
std::string safetensorsDtypeName(at::ScalarType type);

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

/// Writes tensors (any device/dtype supported by safetensors) to `path` atomically. Names are kept in order
/// given but written sorted, as the Python library does.
void saveSafetensors(const std::string& path, const NamedTensors& tensors,
                     const std::map<std::string, std::string>& metadata = {{"format", "pt"}});

/// Writes `<dir>/<stem>.safetensors`, or, when the total exceeds `maxShardBytes`, numbered shards
/// `<stem>-0000i-of-0000n.safetensors` plus `<stem>.safetensors.index.json` as transformers does.
void saveSafetensorsSharded(const std::string& dir, const NamedTensors& tensors, std::uint64_t maxShardBytes,
                            const std::string& stem = "model");

/// A tensor to be written later: its name, dtype and shape (the bytes come from a producer).
struct TensorPlan
{
    std::string name;
    at::ScalarType dtype = at::kFloat;
    std::vector<std::int64_t> shape;
    std::uint64_t bytes() const;
};

/// Called once per planned tensor, in the order the file stores them; returns the tensor (any device; it is
/// converted to the planned dtype and checked against the planned shape).
using TensorProducer = std::function<at::Tensor(const TensorPlan&)>;

/// Writes safetensors shards as transformers' save_pretrained(max_shard_size) does (`<stem>.safetensors`, or
/// `<stem>-0000i-of-0000n.safetensors` + `<stem>.safetensors.index.json`), producing one tensor at a time so
/// that memory holds one tensor, never the model. Each file is written atomically. Returns the file names.
std::vector<std::string> saveSafetensorsStreamed(const std::string& dir, const std::vector<TensorPlan>& plan,
                                                 std::uint64_t maxShardBytes, const TensorProducer& produce,
                                                 const std::string& stem = "model");

} // namespace lathe

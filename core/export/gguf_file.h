// The GGUF v3 container: typed key/value metadata plus named tensors, written in the byte layout llama.cpp reads.
//
// This file knows the format and nothing about models: the GGUF writer (gguf_writer.h) decides which keys and
// tensors go in. Layout (little-endian): "GGUF", version 3, tensor count, KV count, the KVs, the tensor infos,
// zero padding to the alignment, then each tensor's bytes padded to the alignment, in tensor-info order (llama.cpp
// checks each offset equals the padded sum of the ones before it). Tensor data is produced one tensor at a time
// while writing, so converting a model never holds more than one converted tensor in memory.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "export/ggml_type.h"

namespace lathe {

/// The torch dtype holding `type`'s bytes: float/half/bfloat16, or uint8 (block bytes) for quantized types.
at::ScalarType ggmlScalarType(GgmlType type);

class GgufFile
{
public:
    /// Default data alignment of GGUF (GGUF_DEFAULT_ALIGNMENT).
    static constexpr std::uint32_t kDefaultAlignment = 32;

    // Metadata. Keys must be unique and non-empty; a duplicate throws lathe::Error.
    void setU32(const std::string& key, std::uint32_t value);
    void setI32(const std::string& key, std::int32_t value);
    void setF32(const std::string& key, float value);
    void setBool(const std::string& key, bool value);
    void setString(const std::string& key, const std::string& value);
    void setStringArray(const std::string& key, const std::vector<std::string>& values);
    void setI32Array(const std::string& key, const std::vector<std::int32_t>& values);
    bool hasKey(const std::string& key) const;

    /// Writes `general.alignment` (UINT32, power of two) and lays the data out on it.
    void setAlignment(std::uint32_t alignment);

    /// Adds a tensor. `ne` is in ggml order (ne[0] = contiguous dimension, i.e. the reverse of the torch
    /// shape); for a quantized type ne[0] must be a multiple of its block size. `produce` is called once, at
    /// write time, and must return a CPU tensor of dtype ggmlScalarType(type) holding exactly the tensor's
    /// bytes (prod(ne) elements, or for a quantized type ggmlRowSize(type, ne[0]) * prod(ne[1:]) uint8 values
    /// of block data); it is made contiguous before writing.
    void addTensor(const std::string& name, std::vector<std::int64_t> ne, GgmlType type,
                   std::function<at::Tensor()> produce);

    std::size_t tensorCount() const { return m_tensors.size(); }
    std::size_t keyCount() const { return m_kvs.size(); }
    /// Total bytes of tensor data, padding included.
    std::uint64_t dataBytes() const;

    /// Called before each tensor is produced: (index, count, GGUF name).
    using Progress = std::function<void(std::size_t, std::size_t, const std::string&)>;

    /// Writes the file atomically (temporary file, then rename). Throws lathe::Error on any failure.
    void write(const std::string& path, const Progress& progress = {}) const;

private:
    struct Tensor
    {
        std::string name;
        std::vector<std::int64_t> ne;
        GgmlType type;
        std::uint64_t nbytes;
        std::function<at::Tensor()> produce;
    };
    /// Starts a KV: checks the key and appends it, returning the buffer to append the typed value to.
    std::string& beginKv(const std::string& key);

    std::vector<std::pair<std::string, std::string>> m_kvs; ///< key, encoded (type + value) bytes
    std::vector<Tensor> m_tensors;
    std::uint32_t m_alignment = kDefaultAlignment;
};

} // namespace lathe

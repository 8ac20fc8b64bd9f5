#include "export/ggml_type.h"

#include <cctype>

#include "util/error.h"

namespace lathe {

namespace {

constexpr GgmlType kAllTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::Q4_0, GgmlType::Q4_1,
                                  GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q8_0, GgmlType::Q4_K,
                                  GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::BF16};

} // namespace

const char* ggmlTypeName(GgmlType type)
{
    switch (type) {
    case GgmlType::F32: return "F32";
    case GgmlType::F16: return "F16";
    case GgmlType::Q4_0: return "Q4_0";
    case GgmlType::Q4_1: return "Q4_1";
    case GgmlType::Q5_0: return "Q5_0";
    case GgmlType::Q5_1: return "Q5_1";
    case GgmlType::Q8_0: return "Q8_0";
    case GgmlType::Q4_K: return "Q4_K";
    case GgmlType::Q5_K: return "Q5_K";
    case GgmlType::Q6_K: return "Q6_K";
    case GgmlType::BF16: return "BF16";
    }
    return "?";
}

std::optional<GgmlType> ggmlTypeFromName(const std::string& name)
{
    std::string upper = name;
    for (char& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const GgmlType t : kAllTypes)
        if (upper == ggmlTypeName(t))
            return t;
    return std::nullopt;
}

std::int64_t ggmlBlockSize(GgmlType type)
{
    switch (type) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16: return 1;
    case GgmlType::Q4_0:
    case GgmlType::Q4_1:
    case GgmlType::Q5_0:
    case GgmlType::Q5_1:
    case GgmlType::Q8_0: return 32;
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K: return 256;
    }
    return 1;
}

std::size_t ggmlTypeSize(GgmlType type)
{
    switch (type) {
    case GgmlType::F32: return 4;
    case GgmlType::F16:
    case GgmlType::BF16: return 2;
    case GgmlType::Q4_0: return 18;
    case GgmlType::Q4_1: return 20;
    case GgmlType::Q5_0: return 22;
    case GgmlType::Q5_1: return 24;
    case GgmlType::Q8_0: return 34;
    case GgmlType::Q4_K: return 144;
    case GgmlType::Q5_K: return 176;
    case GgmlType::Q6_K: return 210;
    }
    return 4;
}

bool ggmlIsQuantized(GgmlType type)
{
    return ggmlBlockSize(type) > 1;
}

std::size_t ggmlRowSize(GgmlType type, std::int64_t n)
{
    const std::int64_t block = ggmlBlockSize(type);
    if (n <= 0 || n % block != 0)
        fail("ggml type ", ggmlTypeName(type), ": a row of ", n,
             " elements is not a positive multiple of the block size ", block);
    return static_cast<std::size_t>(n / block) * ggmlTypeSize(type);
}

} // namespace lathe

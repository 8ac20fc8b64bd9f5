#include "train/trainer_log.h"

#include <algorithm>
#include <cstdio>

#include "train/trainer.h"

#include "util/file_util.h"
#include "util/json_text.h"

namespace lathe {

std::string formatElapsed(double seconds)
{
    const long long s = std::max(0LL, static_cast<long long>(seconds));
    char buf[48];
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
    return buf;
}

double parseElapsed(const std::string& text)
{
    // Lathe writes hours past 24 as "25:00:00"; Python's timedelta writes "1 day, 1:00:00".
    long long days = 0, h = 0, m = 0, sec = 0;
    std::string rest = text;
    const auto comma = rest.find(", ");
    if (comma != std::string::npos) {
        if (std::sscanf(rest.c_str(), "%lld day", &days) != 1)
            return 0;
        rest = rest.substr(comma + 2);
    }
    if (std::sscanf(rest.c_str(), "%lld:%lld:%lld", &h, &m, &sec) != 3)
        return 0;
    return double(((days * 24 + h) * 60 + m) * 60 + sec);
}


void writeTrainerLog(const std::filesystem::path& file, const std::vector<nlohmann::ordered_json>& records)
{
    std::string text;
    for (const auto& r : records)
        text += r.dump() + "\n";
    writeTextFileAtomic(file.string(), text);
}

std::vector<nlohmann::ordered_json> trainerLogUpTo(const std::filesystem::path& file, std::int64_t step)
{
    std::vector<nlohmann::ordered_json> kept;
    std::error_code ec;
    if (!std::filesystem::exists(file, ec))
        return kept;
    const std::string text = readTextFile(file.string());
    std::size_t from = 0;
    while (from < text.size()) {
        const std::size_t end = std::min(text.find('\n', from), text.size());
        const auto record = parseJsonOrDiscard<nlohmann::ordered_json>(std::string_view(text).substr(from, end - from),
                                                                      file.string());
        from = end + 1;
        if (record.is_discarded() || !record.is_object() || !record.contains("current_steps") ||
            !record["current_steps"].is_number_integer() || record["current_steps"].get<std::int64_t>() > step)
            continue;
        if (record.contains("loss") || record.contains("eval_loss"))
            kept.push_back(record);
    }
    return kept;
}

} // namespace lathe

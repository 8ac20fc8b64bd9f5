// trainer_log.jsonl, LLaMA-Factory's LogCallback file: one JSON record per log, rewritten whole and renamed on every
// record (a window polling it never reads half a line), and continued when a run resumes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

namespace lathe {

/// Writes `records`, one line each, atomically.
void writeTrainerLog(const std::filesystem::path& file, const std::vector<nlohmann::ordered_json>& records);

/// The records a resumed run keeps: those up to `step` with a loss or an eval loss (the ones past it were made by
/// steps that are trained again; a record with neither is the closing summary of the interrupted part). Lines that
/// are not JSON objects are skipped. Empty when the file does not exist.
std::vector<nlohmann::ordered_json> trainerLogUpTo(const std::filesystem::path& file, std::int64_t step);

} // namespace lathe

// Records of a local dataset file, one at a time, without reading the whole file into memory.
//
// File types as LLaMA-Factory's FILEEXT2TYPE: `.json` (a JSON array of records, or JSON lines), `.jsonl`
// (one JSON value per line; blank lines skipped), `.txt` (each line a record {"text": line}, as HF's text
// loader), `.csv` (RFC 4180, the first row names the columns; every value a string). A folder is read as
// the concatenation of its files in name order. A 1 GB file is streamed: only one record is held at a time.
//
// Errors name the file and the record index (and the byte offset for JSON syntax errors).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lathe {

class RecordReader
{
public:
    /// Opens a file or folder; throws lathe::Error when it does not exist or has an unsupported extension.
    explicit RecordReader(const std::string& path);
    ~RecordReader();
    RecordReader(const RecordReader&) = delete;
    RecordReader& operator=(const RecordReader&) = delete;

    /// The next record, false at the end. Throws lathe::Error on malformed input (file, record, offset).
    bool next(nlohmann::json& record);

    /// Index of the record last returned, counting across the files of a folder.
    std::int64_t index() const { return m_index; }
    /// The file the record last returned came from.
    const std::string& currentFile() const { return m_file; }

    /// Files a path stands for (itself, or a folder's supported files in name order).
    static std::vector<std::string> filesOf(const std::string& path);

private:
    enum class Kind
    {
        JsonArray,
        JsonLines,
        Text,
        Csv,
    };
    bool openNext();
    int getc();
    /// The next line without its '\n' (the last one may lack it); false at the end of the file.
    bool readLine(std::string& line);
    void ungetc(int c);
    void rewind();
    bool nextJsonArray(nlohmann::json& record);
    bool nextJsonLine(nlohmann::json& record);
    bool nextText(nlohmann::json& record);
    bool nextCsv(nlohmann::json& record);
    bool readCsvRow(std::vector<std::string>& row);
    /// Throws lathe::Error naming the file and `where` when `text` is not UTF-8.
    void checkUtf8(const std::string& text, const std::string& where) const;

    std::vector<std::string> m_files;
    std::size_t m_fileIndex = 0;
    std::string m_file;
    std::FILE* m_fp = nullptr;
    // Own buffering: stdio's getc takes the FILE lock per character once the process has threads (the
    // preprocessing workers), which made reading 2x slower.
    std::vector<char> m_buffer;
    std::size_t m_pos = 0, m_len = 0;
    int m_pushback = -1;
    Kind m_kind = Kind::JsonLines;
    std::int64_t m_index = -1;
    std::int64_t m_offset = 0; ///< bytes consumed in the current file
    bool m_arrayDone = false;
    std::vector<std::string> m_csvHeader;
    std::int64_t m_line = 0;
};

} // namespace lathe

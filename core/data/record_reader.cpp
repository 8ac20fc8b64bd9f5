#include "data/record_reader.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "util/error.h"
#include "tokenizer/unicode_util.h"
#include "util/json_text.h"

namespace lathe {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string extensionOf(const std::string& path)
{
    std::string ext = fs::path(path).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return char(std::tolower(c)); });
    return ext;
}

bool supported(const std::string& ext)
{
    return ext == ".json" || ext == ".jsonl" || ext == ".txt" || ext == ".csv";
}

} // namespace

std::vector<std::string> RecordReader::filesOf(const std::string& path)
{
    if (!fs::exists(path))
        fail(path, ": not found");
    if (!fs::is_directory(path)) {
        const std::string ext = extensionOf(path);
        if (ext == ".parquet" || ext == ".arrow")
            fail(path, ": ", ext, " files are not supported yet (convert to .json, .jsonl, .csv or .txt)");
        if (!supported(ext))
            fail(path, ": unsupported file type \"", ext, "\" (use .json, .jsonl, .csv or .txt)");
        return {path};
    }
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(path))
        if (e.is_regular_file() && supported(extensionOf(e.path().string())))
            files.push_back(e.path().string());
    std::sort(files.begin(), files.end());
    if (files.empty())
        fail(path, ": folder holds no .json, .jsonl, .csv or .txt files");
    return files;
}

RecordReader::RecordReader(const std::string& path) : m_files(filesOf(path)) {}

RecordReader::~RecordReader()
{
    if (m_fp)
        std::fclose(m_fp);
}

int RecordReader::getc()
{
    if (m_pushback >= 0) {
        const int c = m_pushback;
        m_pushback = -1;
        ++m_offset;
        return c;
    }
    if (m_pos == m_len) {
        if (m_buffer.empty())
            m_buffer.resize(1 << 20);
        m_len = std::fread(m_buffer.data(), 1, m_buffer.size(), m_fp);
        m_pos = 0;
        if (m_len == 0)
            return EOF;
    }
    ++m_offset;
    return static_cast<unsigned char>(m_buffer[m_pos++]);
}

bool RecordReader::readLine(std::string& line)
{
    line.clear();
    const int first = getc(); // takes a pushed-back byte, fills the buffer
    if (first == EOF)
        return false;
    if (first == '\n')
        return true;
    line.push_back(char(first));
    for (;;) {
        if (m_pos == m_len) {
            m_len = std::fread(m_buffer.data(), 1, m_buffer.size(), m_fp);
            m_pos = 0;
            if (m_len == 0)
                return true;
        }
        // The rest of the line in bulk: memchr and one append per buffer, not a call per byte.
        const char* start = m_buffer.data() + m_pos;
        const auto* newline = static_cast<const char*>(std::memchr(start, '\n', m_len - m_pos));
        const std::size_t n = newline ? std::size_t(newline - start) : m_len - m_pos;
        line.append(start, n);
        m_pos += n;
        m_offset += std::int64_t(n);
        if (newline) {
            ++m_pos;
            ++m_offset;
            return true;
        }
    }
}

void RecordReader::ungetc(int c)
{
    if (c == EOF)
        return;
    m_pushback = c;
    --m_offset;
}

void RecordReader::rewind()
{
    std::fseek(m_fp, 0, SEEK_SET);
    m_pos = m_len = 0;
    m_pushback = -1;
    m_offset = 0;
}

bool RecordReader::openNext()
{
    if (m_fp) {
        std::fclose(m_fp);
        m_fp = nullptr;
    }
    if (m_fileIndex >= m_files.size())
        return false;
    m_file = m_files[m_fileIndex++];
    m_fp = std::fopen(m_file.c_str(), "rb");
    if (!m_fp)
        fail(m_file, ": cannot open");
    m_offset = 0;
    m_pos = m_len = 0;
    m_pushback = -1;
    m_line = 0;
    m_arrayDone = false;
    m_csvHeader.clear();
    const std::string ext = extensionOf(m_file);
    if (ext == ".txt") {
        m_kind = Kind::Text;
    } else if (ext == ".csv") {
        m_kind = Kind::Csv;
        std::vector<std::string> header;
        if (!readCsvRow(header))
            fail(m_file, ": empty CSV file (the first row must name the columns)");
        for (const auto& name : header)
            checkUtf8(name, "the CSV header");
        m_csvHeader = header;
    } else if (ext == ".jsonl") {
        m_kind = Kind::JsonLines;
    } else {
        // .json: an array, or JSON lines (HF's json loader reads both).
        int c;
        while ((c = getc()) != EOF && std::isspace(c))
            ;
        if (c == 0xEF) { // UTF-8 byte order mark
            getc();
            getc();
            while ((c = getc()) != EOF && std::isspace(c))
                ;
        }
        if (c == '[') {
            m_kind = Kind::JsonArray;
        } else {
            m_kind = Kind::JsonLines;
            rewind();
        }
    }
    return true;
}

bool RecordReader::next(json& record)
{
    for (;;) {
        if (!m_fp && !openNext())
            return false;
        bool got = false;
        switch (m_kind) {
        case Kind::JsonArray:
            got = nextJsonArray(record);
            break;
        case Kind::JsonLines:
            got = nextJsonLine(record);
            break;
        case Kind::Text:
            got = nextText(record);
            break;
        case Kind::Csv:
            got = nextCsv(record);
            break;
        }
        if (got) {
            ++m_index;
            return true;
        }
        std::fclose(m_fp);
        m_fp = nullptr;
    }
}

// One element of the top-level array: scan to the ',' or ']' at depth 0 outside strings, then parse it.
bool RecordReader::nextJsonArray(json& record)
{
    if (m_arrayDone)
        return false;
    std::string text;
    int depth = 0;
    bool inString = false, escape = false;
    const std::int64_t start = m_offset;
    for (;;) {
        const int c = getc();
        if (c == EOF)
            fail(m_file, ": JSON array is not closed (unexpected end of file after record ", m_index + 1,
                 ")");
        if (inString) {
            text.push_back(char(c));
            if (escape)
                escape = false;
            else if (c == '\\')
                escape = true;
            else if (c == '"')
                inString = false;
            continue;
        }
        if (depth == 0 && (c == ',' || c == ']')) {
            if (c == ']')
                m_arrayDone = true;
            const bool blank =
                std::all_of(text.begin(), text.end(), [](unsigned char ch) { return std::isspace(ch); });
            if (blank) {
                if (c == ']')
                    return false; // "[]", or a trailing comma before "]" (tolerated)
                fail(m_file, ": record ", m_index + 1, " at byte ", start, " is empty (two commas in a row)");
            }
            try {
                record = parseJson<json>(text, cat(m_file, ": record ", m_index + 1));
            } catch (const json::parse_error& e) {
                fail(m_file, ": record ", m_index + 1, " (bytes ", start, "..", m_offset,
                     ") is not valid JSON: ", e.what());
            }
            return true;
        }
        if (c == '"')
            inString = true;
        else if (c == '{' || c == '[')
            ++depth;
        else if (c == '}' || c == ']')
            --depth;
        if (depth < 0)
            fail(m_file, ": unbalanced brackets in record ", m_index + 1, " at byte ", m_offset);
        text.push_back(char(c));
    }
}

bool RecordReader::nextJsonLine(json& record)
{
    std::string line;
    for (;;) {
        if (!readLine(line))
            return false;
        ++m_line;
        if (std::all_of(line.begin(), line.end(), [](unsigned char ch) { return std::isspace(ch); }))
            continue;
        try {
            record = parseJson<json>(line, cat(m_file, ": line ", m_line));
        } catch (const json::parse_error& e) {
            fail(m_file, ": line ", m_line, " (record ", m_index + 1, ") is not valid JSON: ", e.what());
        }
        return true;
    }
}

bool RecordReader::nextText(json& record)
{
    std::string line;
    if (!readLine(line))
        return false;
    if (!line.empty() && line.back() == '\r')
        line.pop_back();
    ++m_line;
    checkUtf8(line, cat("line ", m_line));
    record = json{{"text", line}};
    return true;
}

void RecordReader::checkUtf8(const std::string& text, const std::string& where) const
{
    // JSON records are checked by the JSON parser; text and CSV fields become JSON strings, which must be UTF-8
    // (HF datasets refuses such a file too).
    const std::size_t bad = unicode::firstInvalidUtf8(text);
    if (bad != std::string::npos)
        fail(m_file, ": ", where, " is not valid UTF-8 (byte 0x", std::hex, int(static_cast<unsigned char>(text[bad])),
             std::dec, " at offset ", bad, "); save the file as UTF-8");
}

bool RecordReader::readCsvRow(std::vector<std::string>& row)
{
    row.clear();
    std::string field;
    bool quoted = false, any = false;
    for (;;) {
        int c = getc();
        if (c == EOF) {
            if (quoted)
                fail(m_file, ": quoted CSV field not closed at end of file (record ", m_index + 2, ")");
            if (!any && field.empty() && row.empty())
                return false;
            row.push_back(field);
            return true;
        }
        any = true;
        if (quoted) {
            if (c == '"') {
                const int d = getc();
                if (d == '"') {
                    field.push_back('"');
                } else {
                    quoted = false;
                    if (d == EOF) {
                        row.push_back(field);
                        return true;
                    }
                    ungetc(d);
                }
            } else {
                field.push_back(char(c));
            }
            continue;
        }
        if (c == '"' && field.empty())
            quoted = true;
        else if (c == ',') {
            row.push_back(field);
            field.clear();
        } else if (c == '\n') {
            if (!field.empty() && field.back() == '\r')
                field.pop_back();
            row.push_back(field);
            return true;
        } else
            field.push_back(char(c));
    }
}

bool RecordReader::nextCsv(json& record)
{
    std::vector<std::string> row;
    for (;;) {
        if (!readCsvRow(row))
            return false;
        if (row.size() == 1 && row[0].empty())
            continue; // blank line
        break;
    }
    if (row.size() != m_csvHeader.size())
        fail(m_file, ": CSV record ", m_index + 1, " has ", row.size(), " fields, the header has ",
             m_csvHeader.size());
    record = json::object();
    for (std::size_t i = 0; i < row.size(); ++i) {
        checkUtf8(row[i], cat("CSV record ", m_index + 1, ", column \"", m_csvHeader[i], "\""));
        record[m_csvHeader[i]] = row[i];
    }
    return true;
}

} // namespace lathe

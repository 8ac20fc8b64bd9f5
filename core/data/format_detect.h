// Guessing a dataset_info.json entry from a data file's records, for registration.
//
// Looks at the first records: a list of message objects under "conversations"/"messages" is sharegpt
// (tags from the message keys and role values: from/value/human/gpt, or role/content/user/assistant as
// LLaMA-Factory registers OpenAI-style data); otherwise alpaca (instruction/input/output, or a lone "text"
// column for pretraining). chosen/rejected make it ranking data; a boolean "label"/"kto_tag" a KTO column;
// "system", "tools", "history" columns are picked up. The guess is a proposal: the user confirms or edits it.
#pragma once

#include <string>
#include <vector>

#include "data/dataset_attr.h"

namespace lathe {

struct DetectedFormat
{
    DatasetAttr attr;                ///< the proposed entry (name and file_name filled by the caller)
    std::vector<std::string> fields; ///< record fields seen
    std::vector<std::string> notes;  ///< what was inferred and from what
    std::int64_t recordsRead = 0;
};

/// Reads up to `maxRecords` records of `path`; throws lathe::Error when it has none or cannot be read.
DetectedFormat detectFormat(const std::string& path, int maxRecords = 50);

/// A dataset_info.json entry proposed for a file of a dataset folder, checked on the file's first records:
/// what `lathe dataset register` and the window's Register dataset dialog show before writing.
struct RegistrationProposal
{
    DatasetAttr attr;                  ///< name, file_name (relative to the folder), format, columns, tags
    std::vector<std::string> notes;    ///< what was detected and from what
    std::int64_t checked = 0;          ///< records converted to check the entry
    std::int64_t usable = 0;           ///< of those, the ones that convert without a problem
    std::vector<std::string> problems; ///< the first problems found (file, record, field)
};

/// Detects `file` (absolute, or relative to `datasetDir`; it must be inside it) and checks the entry; `name`
/// empty uses the file's stem. Throws lathe::Error for a file outside the folder or without records.
RegistrationProposal proposeRegistration(const std::string& datasetDir, const std::string& file,
                                         const std::string& name = {});

/// Checks `proposal.attr` again (after the user changed it) on the first 200 records of its file.
void checkRegistration(const std::string& datasetDir, RegistrationProposal& proposal);

} // namespace lathe

// The rule for every file a command writes, checked before anything is read or written:
// never one of the command's own inputs (even with --force), never an existing file without
// --force, never the same file for two outputs, never a folder. Errors are usage errors
// naming the output: "<path>: already exists; pass --force to overwrite".
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace coordseg {

struct OutputFile {
  std::string path;
  std::string option;  // the option that named it ("--csv"), for messages
};

void check_outputs(const std::vector<OutputFile>& outputs, const std::vector<std::string>& inputs, bool force);

}  // namespace coordseg

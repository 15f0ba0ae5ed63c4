// Writing files so that a failure never leaves a half-written one: write to a temporary
// name in the target's folder, then rename it over the target. Errors name the target.
#pragma once

#include <string>

namespace coordseg {

// ".<name>.tmp<pid>" beside `path`. Throws a data error naming `path` when its folder does
// not exist.
std::string temporary_path(const std::string& path);

// Renames the finished temporary file over `path`, with the usual umask permissions (some
// writers, giflib among them, create files 0600). On failure removes it and throws.
void commit_file(const std::string& tmp, const std::string& path);

// Removes a temporary file after a failed write (errors ignored).
void discard_file(const std::string& tmp);

// Writes `text` to `path` through a temporary file.
void write_text_file(const std::string& path, const std::string& text);

// Removes the temporary files (".<name>.tmp<pid>") in `dir` left by processes that no longer
// run (a killed training or prediction); files of live processes are left alone.
void remove_stale_temporaries(const std::string& dir);

// On SIGINT and SIGTERM, removes this process's unfinished temporary files, then dies of
// the signal as it would have. Installed once by the command's main().
void remove_temporaries_on_signal();

// Appends `text` to `path` (created if missing) and flushes it: the one writer here that is
// not atomic, for logs of rows (history.csv). A failed open, write or close is an error
// naming the file.
void append_text_file(const std::string& path, const std::string& text);

}  // namespace coordseg

// Errors. Library code throws coordseg::Error; only main() catches it, prints
// "coordseg: error: <what>" on one line and exits with the error's code: 1 for bad data or
// a failed run, 2 for bad usage (an option or argument the user got wrong).
// A message names the file or option first, then the reason: "<subject>: <reason>".
#pragma once

#include <iosfwd>
#include <stdexcept>
#include <string>

namespace coordseg {

enum class ErrorKind {
  kData = 1,   // bad input data, a failed run, an I/O failure
  kUsage = 2,  // a wrong option, argument or parameter value
};

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& subject, const std::string& reason)
      : std::runtime_error(subject.empty() ? reason : subject + ": " + reason),
        kind_(kind),
        subject_(subject),
        reason_(reason) {}
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return static_cast<int>(kind_); }
  const std::string& subject() const { return subject_; }
  const std::string& reason() const { return reason_; }

 private:
  ErrorKind kind_;
  std::string subject_, reason_;
};

// Shorthands: data_error("ct.nii.gz", "truncated file") and usage_error("--overlap", "...").
inline Error data_error(const std::string& subject, const std::string& reason) {
  return Error(ErrorKind::kData, subject, reason);
}
inline Error usage_error(const std::string& subject, const std::string& reason) {
  return Error(ErrorKind::kUsage, subject, reason);
}

// "<what>: <strerror(errno)>" for failed system calls.
std::string system_reason(const std::string& what, int err);

// Prints "coordseg: error: <what>" and a newline on `out` in one write: the ranks of a
// data-parallel run and their launcher share one stderr, and a line written piece by piece
// (std::cerr is unbuffered) can be cut in two by another process's line.
void print_error(std::ostream& out, const std::string& what);
// The same in one write for any whole line ("coordseg: note: ...\n").
void print_line(std::ostream& out, const std::string& line);

}  // namespace coordseg

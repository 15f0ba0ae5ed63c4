#include "coordseg/core/error.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iostream>

namespace coordseg {

std::string system_reason(const std::string& what, int err) {
  return what + ": " + std::strerror(err);
}

void print_line(std::ostream& out, const std::string& line) {
  if (&out != &std::cerr && &out != &std::cout) {
    out << line << std::flush;
    return;
  }
  // Straight to the descriptor, so that the line is one write(2) whatever the stream's
  // buffering; what the stream already holds goes first.
  out.flush();
  const int fd = &out == &std::cerr ? STDERR_FILENO : STDOUT_FILENO;
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere left to report to
    done += static_cast<size_t>(n);
  }
}

void print_error(std::ostream& out, const std::string& what) {
  print_line(out, "coordseg: error: " + what + "\n");
}

}  // namespace coordseg

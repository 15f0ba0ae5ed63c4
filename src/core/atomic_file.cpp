#include "coordseg/core/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "coordseg/core/error.h"

namespace coordseg {
namespace fs = std::filesystem;

std::string temporary_path(const std::string& path) {
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw data_error(path, "output folder " + dir.string() + " does not exist");
  return (dir / ("." + p.filename().string() + ".tmp" + std::to_string(::getpid()))).string();
}

void commit_file(const std::string& tmp, const std::string& path) {
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::chmod(tmp.c_str(), 0666 & ~mask);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    discard_file(tmp);
    throw data_error(path, system_reason("cannot rename the finished file into place", err));
  }
}

void discard_file(const std::string& tmp) { ::unlink(tmp.c_str()); }

void write_text_file(const std::string& path, const std::string& text) {
  const std::string tmp = temporary_path(path);
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw data_error(path, system_reason("cannot create " + tmp, errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int err = errno;
  if (std::fclose(f) != 0 || !written) {
    discard_file(tmp);
    throw data_error(path, system_reason("cannot write", written ? errno : err));
  }
  commit_file(tmp, path);
}

void append_text_file(const std::string& path, const std::string& text) {
  FILE* f = std::fopen(path.c_str(), "ab");
  if (!f) throw data_error(path, system_reason("cannot open for appending", errno));
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int err = errno;
  if (std::fclose(f) != 0 || !written) throw data_error(path, system_reason("cannot append", written ? errno : err));
}

}  // namespace coordseg

#include "coordseg/core/atomic_file.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <filesystem>

#include "coordseg/core/error.h"

namespace coordseg {
namespace fs = std::filesystem;

namespace {
// This process's unfinished temporary files, for the signal handler: fixed slots, so the
// handler reads them without allocating or locking.
constexpr int kSlots = 64;
constexpr size_t kPathBytes = 4096;
char g_paths[kSlots][kPathBytes];
std::atomic<bool> g_used[kSlots];

void remember(const std::string& tmp) {
  if (tmp.size() >= kPathBytes) return;
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (g_used[i].compare_exchange_strong(expected, true)) {
      // The slot is claimed before its path is complete: the path's first byte is written
      // last, and the handler skips a slot whose first byte is still the terminator.
      g_paths[i][0] = '\0';
      std::memcpy(g_paths[i] + 1, tmp.c_str() + 1, tmp.size());
      g_paths[i][0] = tmp[0];
      return;
    }
  }
}

void forget(const std::string& tmp) {
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i].load() && std::strcmp(g_paths[i], tmp.c_str()) == 0) {
      g_paths[i][0] = '\0';
      g_used[i].store(false);
      return;
    }
}

void on_signal(int sig) {
  for (int i = 0; i < kSlots; ++i)
    if (g_used[i].load() && g_paths[i][0] != '\0') ::unlink(g_paths[i]);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

bool process_alive(long pid) { return pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM); }
}  // namespace

std::string temporary_path(const std::string& path) {
  const fs::path p(path);
  const fs::path dir = p.has_parent_path() ? p.parent_path() : fs::path(".");
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw data_error(path, "output folder " + dir.string() + " does not exist");
  const std::string tmp = (dir / ("." + p.filename().string() + ".tmp" + std::to_string(::getpid()))).string();
  remember(tmp);
  return tmp;
}

void remove_stale_temporaries(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    const auto at = name.rfind(".tmp");
    if (name.empty() || name[0] != '.' || at == std::string::npos || at + 4 >= name.size()) continue;
    const std::string digits = name.substr(at + 4);
    if (digits.find_first_not_of("0123456789") != std::string::npos || digits.size() > 9) continue;
    if (!process_alive(std::stol(digits))) fs::remove(e.path(), ec);
  }
}

void remove_temporaries_on_signal() {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
}

void commit_file(const std::string& tmp, const std::string& path) {
  forget(tmp);
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::chmod(tmp.c_str(), 0666 & ~mask);
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    discard_file(tmp);
    throw data_error(path, system_reason("cannot rename the finished file into place", err));
  }
}

void discard_file(const std::string& tmp) {
  forget(tmp);
  ::unlink(tmp.c_str());
}

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

#include "coordseg/core/atomic_file.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "coordseg/core/error.h"
#include "test_util.h"

namespace coordseg {
namespace {

// The pid of a process that has just exited (and been reaped).
pid_t dead_pid() {
  const pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return pid;
}

TEST(AtomicFile, StaleTemporariesOfDeadProcessesAreRemoved) {
  testing::TempDir dir;
  const std::string dead = dir.file(".last.pt.tmp" + std::to_string(dead_pid()));
  const std::string live = dir.file(".best.pt.tmp" + std::to_string(::getpid()));
  const std::string other = dir.file(".hidden.tmpfile");
  for (const auto& f : {dead, live, other}) std::ofstream(f) << "x";
  remove_stale_temporaries(dir.path().string());
  EXPECT_FALSE(std::filesystem::exists(dead));
  EXPECT_TRUE(std::filesystem::exists(live));
  EXPECT_TRUE(std::filesystem::exists(other));
}

TEST(AtomicFile, ASignalRemovesThisProcesssUnfinishedTemporaries) {
  testing::TempDir dir;
  const std::string target = dir.file("out.nii.gz");
  const pid_t pid = ::fork();
  if (pid == 0) {
    remove_temporaries_on_signal();
    const std::string tmp = temporary_path(target);
    std::ofstream(tmp) << "half-written";
    std::raise(SIGTERM);
    ::_exit(3);  // not reached
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status)) << "the process dies of the signal, as it would have";
  if (WIFSIGNALED(status)) {
    EXPECT_EQ(WTERMSIG(status), SIGTERM);
  }
  EXPECT_FALSE(std::filesystem::exists(target));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path())) << "the temporary file was left behind";
}

TEST(AtomicFile, AppendIsCheckedAndNamesTheFile) {
  testing::TempDir dir;
  append_text_file(dir.file("h.csv"), "a\n");
  append_text_file(dir.file("h.csv"), "b\n");
  std::ifstream in(dir.file("h.csv"));
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, "a\nb\n");
  try {
    append_text_file(dir.file("missing/h.csv"), "c\n");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), dir.file("missing/h.csv") + ": cannot open for appending: No such file or directory");
  }
}

}  // namespace
}  // namespace coordseg

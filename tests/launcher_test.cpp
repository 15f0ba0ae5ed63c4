#include "coordseg/core/launcher.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <vector>

#include "coordseg/core/error.h"
#include "test_util.h"

namespace coordseg {
namespace {

using Clock = std::chrono::steady_clock;

// A plan whose workers run a shell script (with the rank's variables in its environment).
LaunchPlan shell_plan(const std::string& script, int nproc) {
  LaunchPlan p;
  p.argv = {"/bin/sh", "-c", script};
  p.nproc_per_node = nproc;
  return p;
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

TEST(Launcher, EveryWorkerGetsItsRankAndTheRendezvous) {
  testing::TempDir dir;
  LaunchPlan p = shell_plan(
      "echo \"$RANK $LOCAL_RANK $WORLD_SIZE $LOCAL_WORLD_SIZE $MASTER_ADDR $MASTER_PORT $COORDSEG_WORKER\" > " +
          dir.file("rank") + "$LOCAL_RANK",
      3);
  p.nnodes = 2;
  p.node_rank = 1;
  p.master_addr = "10.1.2.3";
  p.master_port = 29577;
  std::ostringstream err;
  EXPECT_EQ(run_workers(p, err), 0);
  EXPECT_EQ(err.str(), "");
  EXPECT_EQ(testing::read_text(dir.file("rank0")), "3 0 6 3 10.1.2.3 29577 1\n");
  EXPECT_EQ(testing::read_text(dir.file("rank1")), "4 1 6 3 10.1.2.3 29577 1\n");
  EXPECT_EQ(testing::read_text(dir.file("rank2")), "5 2 6 3 10.1.2.3 29577 1\n");
}

TEST(Launcher, OneMachineWithoutAPortGetsAFreeOne) {
  testing::TempDir dir;
  const LaunchPlan p = shell_plan("echo $MASTER_PORT > " + dir.file("port") + "$RANK", 2);
  std::ostringstream err;
  EXPECT_EQ(run_workers(p, err), 0);
  const int port = std::stoi(testing::read_text(dir.file("port0")));
  EXPECT_GT(port, 0);
  EXPECT_EQ(std::stoi(testing::read_text(dir.file("port1"))), port);
}

TEST(Launcher, TheFirstFailuresStatusIsReturnedAndTheOthersAreStoppedAfterTheGrace) {
  // Rank 1 fails at once with status 3; rank 0 would sleep for a minute.
  LaunchPlan p = shell_plan("if [ $RANK = 1 ]; then exit 3; fi; exec sleep 60", 2);
  p.grace_seconds = 0.5;
  std::ostringstream err;
  const auto t0 = Clock::now();
  EXPECT_EQ(run_workers(p, err), 3);
  EXPECT_LT(seconds_since(t0), 10.0);
  EXPECT_EQ(err.str(), "");  // the worker that failed says why; the stopped one is not news
}

TEST(Launcher, AKilledWorkerIsReportedOnOneLine) {
  LaunchPlan p = shell_plan("if [ $RANK = 1 ]; then kill -9 $$; fi; exit 0", 2);
  std::ostringstream err;
  EXPECT_EQ(run_workers(p, err), 1);
  const std::string e = err.str();
  EXPECT_EQ(e.rfind("coordseg: error: rank 1 (pid ", 0), 0u) << e;
  EXPECT_NE(e.find(") was killed by signal 9 ("), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), e.size() - 1) << e;
}

TEST(Launcher, ABusyPortOrABadPlanIsAUsageError) {
  // Hold a port open, as another program would.
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(s, 1), 0);
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  const int busy = ntohs(a.sin_port);
  EXPECT_FALSE(port_is_free(busy));

  auto error_of = [](const LaunchPlan& p) -> std::string {
    std::ostringstream err;
    try {
      run_workers(p, err);
    } catch (const Error& e) {
      EXPECT_EQ(e.exit_code(), 2);
      return e.what();
    }
    return "(no error)";
  };
  LaunchPlan p = shell_plan("exit 0", 2);
  p.master_port = busy;
  EXPECT_EQ(error_of(p), "--master-port: port " + std::to_string(busy) +
                             " is in use on this machine; choose another (or set MASTER_PORT)");
  ::close(s);
  p = shell_plan("exit 0", 2);
  p.nnodes = 2;
  EXPECT_EQ(error_of(p), "--master-port: a run over several machines needs a fixed port that every machine uses");
  p.master_port = 29500;
  p.node_rank = 2;
  EXPECT_EQ(error_of(p), "--node-rank: 2 is not below --nnodes 2");
  p = shell_plan("exit 0", 0);
  EXPECT_EQ(error_of(p), "--nproc-per-node: expected 1..1024, got 0");
  p.argv.clear();
  p.nproc_per_node = 1;
  EXPECT_EQ(error_of(p), "launch: no command to run (put it after --, e.g. -- train ...)");
}

// The CI run of 816d40f failed on "coordseg: error: rank " + rank 0's whole error line +
// "1 (pid N) was killed ...": the launcher wrote its line to the shared stderr in pieces.
// Four processes print 300 long error lines each on one stderr file at once; every line
// must come out whole.
TEST(Launcher, ErrorLinesOfProcessesSharingStderrDoNotInterleave) {
  testing::TempDir dir;
  const std::string path = dir.file("err");
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  const std::string body(400, 'x');
  std::vector<pid_t> children;
  for (int p = 0; p < 4; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::dup2(fd, STDERR_FILENO);
      for (int i = 0; i < 300; ++i)
        print_error(std::cerr, "rank " + std::to_string(p) + " (line " + std::to_string(i) + ") " + body);
      ::_exit(0);
    }
    children.push_back(pid);
  }
  ::close(fd);
  for (const pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  std::istringstream lines(testing::read_text(path));
  std::string line;
  int count = 0, whole = 0;
  std::vector<int> next(4, 0);  // each process's lines arrive in its own order
  while (std::getline(lines, line)) {
    ++count;
    int p = -1, i = -1;
    const std::string tail = ") " + body;
    if (std::sscanf(line.c_str(), "coordseg: error: rank %d (line %d", &p, &i) == 2 && p >= 0 && p < 4 &&
        line == "coordseg: error: rank " + std::to_string(p) + " (line " + std::to_string(i) + tail &&
        i == next[static_cast<size_t>(p)]) {
      ++whole;
      ++next[static_cast<size_t>(p)];
    }
  }
  EXPECT_EQ(count, 1200);
  EXPECT_EQ(whole, 1200);
}

// print_error on any other stream: the same line.
TEST(Launcher, PrintErrorWritesOneLine) {
  std::ostringstream out;
  print_error(out, "ct.nii.gz: truncated file");
  EXPECT_EQ(out.str(), "coordseg: error: ct.nii.gz: truncated file\n");
}

TEST(Launcher, ItsOwnCommandLine) {
  const auto args = self_arguments();
  ASSERT_FALSE(args.empty());
  EXPECT_NE(args[0].find("core_tests"), std::string::npos) << args[0];
  EXPECT_NE(self_executable().find("core_tests"), std::string::npos);
  EXPECT_FALSE(is_launched_worker());
}

}  // namespace
}  // namespace coordseg

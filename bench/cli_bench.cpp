// Wall time of a whole `sizeup params llama-3-8b --json` process (start-up, catalog lookup,
// config parse, count, JSON output): scripts and the web page call it in loops, so the
// target is well under 10 ms. The process is spawned directly (no shell), stdout to /dev/null.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>

namespace {

bool run_sizeup_params() {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::array<char*, 5> argv = {const_cast<char*>(SIZEUP_CLI), const_cast<char*>("params"),
                               const_cast<char*>("llama-3-8b"), const_cast<char*>("--json"),
                               nullptr};
  pid_t pid                 = 0;
  const int spawn = posix_spawn(&pid, SIZEUP_CLI, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  int status = 0;
  return spawn == 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 0;
}

void BM_CliParamsLlama3_8B(benchmark::State& state) {
  for (auto _ : state) {
    if (!run_sizeup_params()) {
      state.SkipWithError("sizeup params failed");
      return;
    }
  }
}
BENCHMARK(BM_CliParamsLlama3_8B)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

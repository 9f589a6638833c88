// sstrace entry point: the only place that turns errors into exit statuses
// (CONTRACT.md: 0 clean stop, 2 usage error, 1 anything else).
#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include "cli/app.h"
#include "common/result.h"
#include "output/terminal_text.h"
#include "sys/stdio_guard.h"

namespace {

// One line, always, and nothing a terminal would act on: messages quote
// arguments, file names and filter words, which may hold anything.
void print_error(const char* prefix, const char* what) {
  std::string line = "sstrace: ";
  line += prefix;
  sstrace::output::append_terminal_safe(line, what);
  line += '\n';
  std::fputs(line.c_str(), stderr);
}

// SIGUSR1's default action kills: a table request sent as soon as the pid
// exists must not. This runs before main() and before the program's own
// static initialisers (prometheus-cpp's, civetweb's), as early as code of
// ours can; before it, only the dynamic loader mapping the libraries runs.
// The live stream installs its handler before it opens anything; until then
// there is no table to write.
__attribute__((constructor(101))) void ignore_sigusr1_until_there_is_a_table() {
  std::signal(SIGUSR1, SIG_IGN);
}

}  // namespace

int main(int argc, char** argv) {
  // Before anything opens a descriptor: a closed fd 1 would otherwise be
  // handed to the first socket or BPF map, and events written into it.
  const unsigned closed = sstrace::sys::protect_standard_fds();
  try {
    if (closed & 2u)
      throw sstrace::FatalError(
          "standard output is closed (>&-): give it a file, a pipe or /dev/null");
    return sstrace::cli::run(argc, argv);
  } catch (const sstrace::UsageError& e) {
    print_error("", e.what());
    return 2;
  } catch (const sstrace::FatalError& e) {
    print_error("", e.what());
    return 1;
  } catch (const std::exception& e) {
    print_error("internal error: ", e.what());
    return 1;
  }
}

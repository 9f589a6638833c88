// measure: runs a command and writes its resource usage once it has exited,
// so a tracer's CPU time includes the drain it does after SIGINT (sampling
// /proc/PID/stat before the signal would miss it). SIGINT and SIGTERM sent
// to measure are passed on to the command; stdin/stdout/stderr are its own.
//
//   measure --out FILE [--timeout S] -- COMMAND [ARGS...]
//
// --timeout S: SIGINT to the command after S seconds, SIGKILL 10 s later
// (a bound for tracers that have no duration option of their own).
//
// FILE gets one line: "user_s U sys_s S cpu_s C maxrss_kib M status X"
// (X: the exit status, or 128+signal).
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

volatile sig_atomic_t g_child = 0;
volatile sig_atomic_t g_alarms = 0;

extern "C" void forward(int sig) {
  if (g_child > 0) ::kill(g_child, sig);
}

// First alarm: the polite stop; the second, 10 s later: the sure one.
extern "C" void on_alarm(int) {
  if (g_child <= 0) return;
  const bool first = g_alarms == 0;
  g_alarms = 1;
  ::kill(g_child, first ? SIGINT : SIGKILL);
  if (first) ::alarm(10);
}

double seconds(const timeval& tv) { return double(tv.tv_sec) + double(tv.tv_usec) / 1e6; }

int wait_child(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 255;
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

int usage() {
  std::fprintf(stderr, "usage: measure --out FILE [--timeout S] -- COMMAND [ARGS...]\n");
  return 2;
}

int main(int argc, char** argv) {
  if (argc < 5 || std::strcmp(argv[1], "--out") != 0) return usage();
  int cmd = 3;
  unsigned timeout_s = 0;
  if (std::strcmp(argv[3], "--timeout") == 0 && argc > 6) {
    timeout_s = unsigned(std::strtoul(argv[4], nullptr, 10));
    if (timeout_s == 0) return usage();
    cmd = 5;
  }
  if (std::strcmp(argv[cmd], "--") != 0 || cmd + 1 >= argc) return usage();
  struct sigaction sa {};
  sa.sa_handler = forward;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, nullptr);

  pid_t pid = ::fork();
  if (pid < 0) {
    std::perror("measure: fork");
    return 1;
  }
  if (pid == 0) {
    ::execvp(argv[cmd + 1], argv + cmd + 1);
    std::fprintf(stderr, "measure: cannot run %s: %s\n", argv[cmd + 1], std::strerror(errno));
    _exit(127);
  }
  g_child = pid;
  if (timeout_s) ::alarm(timeout_s);
  int status = wait_child(pid);

  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  FILE* f = std::fopen(argv[2], "w");
  if (!f) {
    std::perror("measure: open --out");
    return 1;
  }
  double u = seconds(ru.ru_utime), s = seconds(ru.ru_stime);
  std::fprintf(f, "user_s %.3f sys_s %.3f cpu_s %.3f maxrss_kib %ld status %d\n", u, s, u + s,
               ru.ru_maxrss, status);
  std::fclose(f);
  return status;
}

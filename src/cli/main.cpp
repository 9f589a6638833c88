// sstrace entry point: the only place that turns errors into exit statuses
// (CONTRACT.md: 0 clean stop, 2 usage error, 1 anything else).
#include <cstdio>
#include <exception>

#include "cli/app.h"
#include "common/result.h"

int main(int argc, char** argv) {
  try {
    return sstrace::cli::run(argc, argv);
  } catch (const sstrace::UsageError& e) {
    std::fprintf(stderr, "sstrace: %s\n", e.what());
    return 2;
  } catch (const sstrace::FatalError& e) {
    std::fprintf(stderr, "sstrace: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sstrace: internal error: %s\n", e.what());
    return 1;
  }
}

#include "sys/proc_env.h"

#include <cstdlib>

namespace sstrace::sys {

std::string proc_root() {
  const char* root = std::getenv("PROC_ROOT");
  return root != nullptr ? root : "/proc";
}

bool proc_root_set() { return std::getenv("PROC_ROOT") != nullptr; }

std::string proc_file(const char* env, const char* name) {
  if (const char* path = std::getenv(env)) return path;
  return proc_root() + "/" + name;
}

namespace {

// Which variable gave proc_file(env, ...) its answer.
std::string origin(const char* env, const char* chosen_by) {
  if (std::getenv(env) != nullptr) return env;
  if (proc_root_set()) return "PROC_ROOT";
  return std::string("/proc while ") + chosen_by + " is set";
}

}  // namespace

std::optional<ProcTable> proc_table_override(const char* env4, const char* env6, const char* name) {
  if (std::getenv(env4) == nullptr && !proc_root_set()) return std::nullopt;
  const char* chosen_by = std::getenv(env4) != nullptr ? env4 : "PROC_ROOT";
  const std::string net = std::string("net/") + name;
  return ProcTable{proc_file(env4, net.c_str()), proc_file(env6, (net + "6").c_str()),
                   origin(env4, chosen_by), origin(env6, chosen_by), chosen_by};
}

}  // namespace sstrace::sys

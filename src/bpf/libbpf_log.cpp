#include "bpf/libbpf_log.h"

#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdio>

namespace sstrace::bpf {

namespace {

int print_to_stderr(enum libbpf_print_level, const char* fmt, va_list args) {
  // libbpf's own lines already begin with "libbpf: ".
  std::fputs("sstrace: ", stderr);
  return std::vfprintf(stderr, fmt, args);
}

int print_nothing(enum libbpf_print_level, const char*, va_list) { return 0; }

}  // namespace

void set_libbpf_log(bool verbose) { libbpf_set_print(verbose ? print_to_stderr : print_nothing); }

}  // namespace sstrace::bpf

#include "output/skmem_text.h"

#include "output/append_number.h"

namespace sstrace::output {

void append_skmem_text(std::string& out, const diag::SockInfo& s) {
  if (s.has_skmem) {
    const auto& m = s.skmem;
    append_named_numbers(out, {{" skmem:(r", m[diag::kRmemAlloc]},
                               {",rb", m[diag::kRcvbuf]},
                               {",t", m[diag::kWmemAlloc]},
                               {",tb", m[diag::kSndbuf]},
                               {",f", m[diag::kFwdAlloc]},
                               {",w", m[diag::kWmemQueued]},
                               {",o", m[diag::kOptmem]}});
    // Backlog and drops came later (linux/sock_diag.h); ss prints what the
    // kernel sent.
    const size_t n = s.skmem_count ? s.skmem_count : size_t{diag::kSkMemVars};
    if (n > diag::kBacklog) append_named_numbers(out, {{",bl", m[diag::kBacklog]}});
    if (n > diag::kDrops) append_named_numbers(out, {{",d", m[diag::kDrops]}});
    out += ')';
    return;
  }
  if (s.has_meminfo) {
    const auto& m = s.meminfo;
    append_named_numbers(out, {{" mem:(r", m[0]}, {",w", m[1]}, {",f", m[2]}, {",t", m[3]}});
    out += ')';
  }
}

std::string skmem_text(const diag::SockInfo& s) {
  std::string out;
  append_skmem_text(out, s);
  return out;
}

}  // namespace sstrace::output

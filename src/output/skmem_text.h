// ss -m's socket memory: " skmem:(r0,rb131072,...)".
#pragma once

#include <string>

#include "diag/sock_info.h"

namespace sstrace::output {

// " skmem:(r0,rb131072,...)" (leading space as ss prints it), or ss's older
// " mem:(r,w,f,t)" when the kernel sent only INET_DIAG_MEMINFO; "" when
// neither is present.
std::string skmem_text(const diag::SockInfo& s);
void append_skmem_text(std::string& out, const diag::SockInfo& s);

}  // namespace sstrace::output

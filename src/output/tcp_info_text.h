// ss -i's tcp_info text (and -o's option flags).
#pragma once

#include <string>

#include "diag/sock_info.h"

namespace sstrace::output {

// ss -i's tcp_info fields, each with a leading space, in ss's order:
// " ts sack bbr wscale:10,10 rto:204 rtt:0.075/0.037 ... snd_wnd:65536".
// `options` adds ss -o's option flags (ts sack ecn ecnseen fastopen);
// `numeric` is -n (rates as plain numbers). "" without tcp_info.
std::string tcp_info_text(const diag::SockInfo& s, bool options, bool numeric);
void append_tcp_info_text(std::string& out, const diag::SockInfo& s, bool options, bool numeric);

}  // namespace sstrace::output

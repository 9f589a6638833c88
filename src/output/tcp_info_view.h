// tcp_info as the kernel filled it, for the two writers of its fields (ss
// -i's text, tcp_info_text.cpp, and the JSON tcp_info object,
// sock_json_fields.cpp). Included by those .cpp files only: it defines the
// TI_HAS and TI macros.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "diag/sock_info.h"

namespace sstrace::output {

// Fields past tcp_info_len read as 0, the way ss pads a short tcp_info from
// an older kernel.
class TcpInfoView {
 public:
  explicit TcpInfoView(const diag::SockInfo& s)
      : ti_(s.tcp_info),
        len_(s.tcp_info_len ? std::min<size_t>(s.tcp_info_len, sizeof(tcp_info))
                            : sizeof(tcp_info)) {}
  bool has(size_t offset, size_t size) const { return offset + size <= len_; }
  const tcp_info& raw() const { return ti_; }

 private:
  const tcp_info& ti_;
  size_t len_;
};

// Macros, not functions: a field is named by offsetof, which takes a member
// name, not a value.
#define TI_HAS(v, f) (v).has(offsetof(tcp_info, f), sizeof(tcp_info::f))
#define TI(v, f) (TI_HAS(v, f) ? (v).raw().f : decltype(tcp_info::f){})

// ss's send rate estimate: cwnd * mss per RTT, with Vegas' own RTT when it
// has one.
inline double send_bps(const diag::SockInfo& s, const TcpInfoView& v) {
  double rtt = TI(v, tcpi_rtt);
  if (s.has_vegas && s.vegas.enabled && s.vegas.rtt_us && s.vegas.rtt_us != 0x7fffffff)
    rtt = s.vegas.rtt_us;
  const uint32_t mss = TI(v, tcpi_snd_mss), cwnd = TI(v, tcpi_snd_cwnd);
  if (rtt > 0 && mss && cwnd) return static_cast<double>(cwnd) * mss * 8000000.0 / rtt;
  return 0;
}

}  // namespace sstrace::output

#include "output/tcp_info_text.h"

#include <gtest/gtest.h>

#include <cstddef>

namespace sstrace::output {
namespace {

using diag::SockInfo;

TEST(TcpInfoText, tcp_info_line_in_ss_order) {
  SockInfo s;
  EXPECT_EQ(tcp_info_text(s, true, true), "");
  s.has_tcp_info = true;
  s.tcp_info_len = sizeof(tcp_info);
  tcp_info& t = s.tcp_info;
  t.tcpi_options = TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE;
  t.tcpi_snd_wscale = 7;
  t.tcpi_rcv_wscale = 10;
  t.tcpi_rto = 204000;
  t.tcpi_rtt = 1234;
  t.tcpi_rttvar = 617;
  t.tcpi_snd_mss = 1448;
  t.tcpi_snd_cwnd = 10;
  t.tcpi_snd_ssthresh = 0x7fffffff;  // infinite: not shown
  t.tcpi_reordering = 3;             // the default: not shown
  t.tcpi_total_retrans = 2;
  t.tcpi_min_rtt = ~0U;        // no sample yet: not shown
  t.tcpi_pacing_rate = ~0ULL;  // unlimited: not shown
  t.tcpi_busy_time = 10000;
  t.tcpi_rwnd_limited = 2500;
  s.cong = "cubic";
  EXPECT_EQ(tcp_info_text(s, false, false),
            " cubic wscale:7,10 rto:204 rtt:1.234/0.617 mss:1448 cwnd:10 send 93.9Mbps"
            " busy:10ms rwnd_limited:2ms(25.0%) retrans:0/2");
  EXPECT_EQ(tcp_info_text(s, true, true),
            " ts sack cubic wscale:7,10 rto:204 rtt:1.234/0.617 mss:1448 cwnd:10"
            " send 93873582bps busy:10ms rwnd_limited:2ms(25.0%) retrans:0/2");
}

TEST(TcpInfoText, tcp_info_fields_past_the_kernels_length_are_absent) {
  SockInfo s;
  s.has_tcp_info = true;
  s.tcp_info.tcpi_rto = 201000;
  s.tcp_info.tcpi_snd_wnd = 65535;
  s.tcp_info.tcpi_reordering = 3;
  s.tcp_info_len = offsetof(tcp_info, tcpi_bytes_sent);  // a 4.18 kernel
  EXPECT_EQ(tcp_info_text(s, false, true), " rto:201");
}

}  // namespace
}  // namespace sstrace::output

#include "output/tcp_info_text.h"

#include <string_view>

#include "output/append_number.h"
#include "output/rate_text.h"
#include "output/tcp_info_view.h"

namespace sstrace::output {

using diag::SockInfo;

namespace {

constexpr uint32_t kInitialRtoUs = 3000000;  // TCP_TIMEOUT_INIT, which ss hides

}  // namespace

std::string tcp_info_text(const SockInfo& s, bool options, bool numeric) {
  std::string out;
  append_tcp_info_text(out, s, options, numeric);
  return out;
}

void append_tcp_info_text(std::string& out, const SockInfo& s, bool options, bool numeric) {
  if (!s.has_tcp_info) return;
  const TcpInfoView v(s);
  const tcp_info& t = v.raw();
  // " name:123" unless 0.
  auto u = [&](std::string_view name, uint64_t val) {
    if (!val) return;
    out += ' ';
    out += name;
    out += ':';
    append_int(out, val);
  };
  // " name:0.075": printf's "%g" of a count of microseconds / 1000.0.
  auto ms = [&](std::string_view name, uint64_t us) {
    out += ' ';
    out += name;
    out += ':';
    append_thousandths(out, us);
  };
  // " name:4.2Mbps" / " name 4.2Mbps".
  auto rate = [&](std::string_view prefix, double bps) {
    out += prefix;
    append_rate_text(out, bps, numeric);
    out += "bps";
  };
  // " rwnd_limited:12ms(3.4%)": the time and its share of busy time.
  auto limited = [&](std::string_view name, uint64_t us, uint64_t busy_us) {
    out += ' ';
    out += name;
    out += ':';
    append_int(out, us / 1000);
    out += "ms(";
    append_fixed(out, 100.0 * us / busy_us, 1);
    out += "%)";
  };

  if (options) {
    if (t.tcpi_options & TCPI_OPT_TIMESTAMPS) out += " ts";
    if (t.tcpi_options & TCPI_OPT_SACK) out += " sack";
    if (t.tcpi_options & TCPI_OPT_ECN) out += " ecn";
    if (t.tcpi_options & TCPI_OPT_ECN_SEEN) out += " ecnseen";
    if (t.tcpi_options & TCPI_OPT_SYN_DATA) out += " fastopen";
  }
  if (!s.cong.empty()) {
    out += ' ';
    out += s.cong;
  }
  if (t.tcpi_options & TCPI_OPT_WSCALE) {
    out += " wscale:";
    append_int(out, static_cast<int>(t.tcpi_snd_wscale));
    out += ',';
    append_int(out, static_cast<int>(t.tcpi_rcv_wscale));
  }
  if (uint32_t rto = TI(v, tcpi_rto); rto && rto != kInitialRtoUs) ms("rto", rto);
  u("backoff", t.tcpi_backoff);
  if (uint32_t rtt = TI(v, tcpi_rtt)) {
    ms("rtt", rtt);
    out += '/';
    append_thousandths(out, TI(v, tcpi_rttvar));
  }
  if (uint32_t ato = TI(v, tcpi_ato)) ms("ato", ato);
  u("mss", TI(v, tcpi_snd_mss));
  u("pmtu", TI(v, tcpi_pmtu));
  u("rcvmss", TI(v, tcpi_rcv_mss));
  u("advmss", TI(v, tcpi_advmss));
  u("cwnd", TI(v, tcpi_snd_cwnd));
  if (uint32_t ssthresh = TI(v, tcpi_snd_ssthresh); ssthresh < 0xffff) u("ssthresh", ssthresh);
  u("bytes_sent", TI(v, tcpi_bytes_sent));
  u("bytes_retrans", TI(v, tcpi_bytes_retrans));
  u("bytes_acked", TI(v, tcpi_bytes_acked));
  u("bytes_received", TI(v, tcpi_bytes_received));
  u("segs_out", TI(v, tcpi_segs_out));
  u("segs_in", TI(v, tcpi_segs_in));
  u("data_segs_out", TI(v, tcpi_data_segs_out));
  u("data_segs_in", TI(v, tcpi_data_segs_in));

  if (s.has_dctcp) {
    if (s.dctcp.enabled) {
      append_named_numbers(out, {{" dctcp:(ce_state:", s.dctcp.ce_state},
                                 {",alpha:", s.dctcp.alpha},
                                 {",ab_ecn:", s.dctcp.ab_ecn},
                                 {",ab_tot:", s.dctcp.ab_tot}});
      out += ')';
    } else {
      out += " dctcp:fallback_mode";
    }
  }
  if (s.has_bbr) {
    rate(" bbr:(bw:", s.bbr.bw * 8.0);
    out += ",mrtt:";
    append_thousandths(out, s.bbr.min_rtt_us);
    if (s.bbr.pacing_gain) {
      out += ",pacing_gain:";
      append_general(out, s.bbr.pacing_gain / 256.0);
    }
    if (s.bbr.cwnd_gain) {
      out += ",cwnd_gain:";
      append_general(out, s.bbr.cwnd_gain / 256.0);
    }
    out += ')';
  }

  if (double bps = send_bps(s, v); bps > 0) rate(" send ", bps);
  u("lastsnd", TI(v, tcpi_last_data_sent));
  u("lastrcv", TI(v, tcpi_last_data_recv));
  u("lastack", TI(v, tcpi_last_ack_recv));
  if (uint64_t pr = TI(v, tcpi_pacing_rate); pr && pr != ~0ULL) {
    rate(" pacing_rate ", pr * 8.0);
    if (uint64_t max = TI(v, tcpi_max_pacing_rate); max && max != ~0ULL) rate("/", max * 8.0);
  }
  if (uint64_t dr = TI(v, tcpi_delivery_rate)) rate(" delivery_rate ", dr * 8.0);
  u("delivered", TI(v, tcpi_delivered));
  u("delivered_ce", TI(v, tcpi_delivered_ce));
  if (t.tcpi_delivery_rate_app_limited) out += " app_limited";
  if (uint64_t busy = TI(v, tcpi_busy_time)) {
    out += " busy:";
    append_int(out, busy / 1000);
    out += "ms";
    if (uint64_t rw = TI(v, tcpi_rwnd_limited)) limited("rwnd_limited", rw, busy);
    if (uint64_t sb = TI(v, tcpi_sndbuf_limited)) limited("sndbuf_limited", sb, busy);
  }
  u("unacked", TI(v, tcpi_unacked));
  if (uint32_t r = TI(v, tcpi_retrans), total = TI(v, tcpi_total_retrans); r || total) {
    out += " retrans:";
    append_int(out, r);
    out += '/';
    append_int(out, total);
  }
  u("lost", TI(v, tcpi_lost));
  if (s.state != diag::kListen) u("sacked", TI(v, tcpi_sacked));
  u("dsack_dups", TI(v, tcpi_dsack_dups));
  u("fackets", TI(v, tcpi_fackets));
  // 3 is the default (sysctl tcp_reordering); ss shows only a change.
  if (uint32_t reo = TI(v, tcpi_reordering); reo != 3) {
    out += " reordering:";
    append_int(out, static_cast<int>(reo));
  }
  u("reord_seen", TI(v, tcpi_reord_seen));
  if (uint32_t rr = TI(v, tcpi_rcv_rtt)) ms("rcv_rtt", rr);
  u("rcv_space", TI(v, tcpi_rcv_space));
  u("rcv_ssthresh", TI(v, tcpi_rcv_ssthresh));
  u("notsent", TI(v, tcpi_notsent_bytes));
  if (uint32_t mr = TI(v, tcpi_min_rtt); mr && mr != ~0U) ms("minrtt", mr);
  u("rcv_ooopack", TI(v, tcpi_rcv_ooopack));
  u("snd_wnd", TI(v, tcpi_snd_wnd));
}

}  // namespace sstrace::output

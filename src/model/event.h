// What the model tells the writers: one Event per line of output. Plain
// data, valid for the duration of the sink call only.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "diag/sock_info.h"
#include "model/connection.h"
#include "sys/procfs.h"

namespace sstrace::model {

enum class EventType : uint8_t {
  snapshot,
  sync,
  state,
  rtt,
  retransmit,
  reset,
  close,
  lost,
  table,
  table_end,
  exit,
  connect_error,  // connect() failed before the socket left CLOSE
  alert,
};

// alert events: what a person should look at (CONTRACT.md, "Why it churns").
enum class AlertKind : uint8_t { listen_overflow, close_wait, port_pressure };
const char* alert_kind_name(AlertKind k);

struct Alert {
  AlertKind kind = AlertKind::listen_overflow;
  uint64_t drops = 0;   // listen_overflow: connections dropped in the interval
  int64_t age_us = -1;  // close_wait: time in CLOSE-WAIT
  // port_pressure (no conn): the destination, its ports in use, the range.
  uint32_t netns = 0;
  uint8_t family = 0;
  diag::Endpoint remote;
  uint32_t in_use = 0;
  uint32_t range = 0;
};

const char* event_type_name(EventType t);

struct CloseSummary {
  int64_t duration_us = -1;  // -1: start unknown
  uint64_t bytes_acked = 0;
  uint64_t bytes_received = 0;
  uint32_t retrans = 0;
  uint32_t min_srtt_us = 0;  // 0: no sample
  uint32_t avg_srtt_us = 0;
  uint32_t max_srtt_us = 0;
  uint32_t srtt_us = 0;  // the last smoothed RTT
  ClosedBy closed_by = ClosedBy::unknown;
  // Closed from SYN-SENT or SYN-RECV: the socket's error (a positive errno;
  // 0: none, e.g. the application closed it first).
  int failure = 0;
  int64_t syn_retrans = -1;  // closed from SYN-SENT: SYNs retransmitted; -1 otherwise
};

struct Event {
  EventType type = EventType::state;
  uint64_t ts_ns = 0;  // CLOCK_MONOTONIC (the kernel's bpf_ktime_get_ns clock)

  // Socket events: the connection as the model knows it after the event.
  const Connection* conn = nullptr;
  // snapshot events: the dump record with every detail ss would show.
  const diag::SockInfo* info = nullptr;
  // snapshot events: every process holding the socket (ss -p's users).
  std::span<const sys::SocketUser> users;

  // state
  uint8_t old_state = 0;
  bool old_minisocket = false;
  // The kernel's LISTEN -> SYN-RECV of a child that took over the cookie of
  // a request minisocket the stream had reported: written as SYN-RECV ->
  // SYN-RECV, `old` being the request's state (docs/events.md).
  bool old_request = false;
  uint8_t new_state = 0;
  bool new_minisocket = false;
  int64_t old_us = -1;  // -1: unknown
  bool inferred = false;

  // rtt
  uint32_t srtt_us = 0;
  uint32_t rttvar_us = 0;
  // 0: none, this is the socket's first rtt event. Never a real value: the
  // kernel keeps tp->srtt_us >= 1 once sampled (tcp_rtt_estimator's
  // max(1U, srtt)), and the BPF side reports srtt_us >> 3 only when it is
  // nonzero, so every reported srtt, hence every previous one, is >= 1.
  uint32_t prev_srtt_us = 0;
  uint32_t min_rtt_us = 0;
  uint32_t cwnd = 0;
  uint32_t ssthresh = 0;
  uint32_t packets_out = 0;

  // retransmit
  uint32_t segs = 0;
  bool synack = false;

  // reset: true = sent, false = received
  bool reset_sent = false;
  // reset (sent): the kernel's reason, lower case; empty where it gives none.
  std::string_view reset_reason;

  // connect_error: the errno (positive)
  int error = 0;
  // state (SYN-SENT -> CLOSE) and close: connect() itself undid its SYN-SENT
  // before any SYN (no free local port); the connect_error event that
  // follows carries the errno, so this is no failed attempt of its own.
  bool in_connect = false;

  // close
  CloseSummary summary;

  // sync / table_end: sockets; lost: count; exit: events
  uint64_t count = 0;
  uint64_t lost_total = 0;  // exit
  // lost: count = ringbuf_full + missed_runs + queue_full, kept apart
  // because they call for different remedies (a bigger ring, a less loaded
  // CPU, a faster output).
  uint64_t ringbuf_full = 0;
  uint64_t missed_runs = 0;
  uint64_t queue_full = 0;
  uint64_t missed_rtt_samples = 0;  // exit
  uint64_t prefiltered = 0;         // exit

  Alert alert;  // alert
};

}  // namespace sstrace::model

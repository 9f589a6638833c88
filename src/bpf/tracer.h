// The kernel side's user-space half: loads the CO-RE programs, configures
// them, attaches what the running kernel supports, and drains the ring
// buffer. The only place (with tracer.cpp) that includes libbpf and the
// skeleton.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "sstrace/events.h"

namespace sstrace::bpf {

struct PortRange {
  uint16_t lo = 0;
  uint16_t hi = 0;
};

struct TracerConfig {
  uint32_t netns = 0;             // 0: every namespace
  uint16_t family = 0;            // 0: both
  std::vector<PortRange> lports;  // empty: any
  std::vector<PortRange> rports;
  bool rtt = true;
  uint32_t rtt_min_change_us = 1000;
  uint32_t rtt_min_change_pct = 20;
  uint64_t rtt_interval_ns = 1'000'000'000;
  uint32_t ringbuf_bytes = 8u << 20;  // power of two, >= page size
  uint32_t wakeup_bytes = 64u << 10;
  bool verbose = false;  // libbpf's log on stderr
  std::string btf_path;  // --btf: the kernel's BTF from this file ("": the kernel's own)
};

// One program the kernel would not take, and what the user misses for it.
struct Degradation {
  std::string program;
  std::string missing;  // e.g. "retransmit events for SYN-ACKs"
  std::string reason;
};

using RecordHandler = std::function<void(const sstrace_record&)>;

class Tracer {
 public:
  // open -> configure rodata -> probe features -> load -> attach. Fails only
  // when nothing useful can run (no state tracepoint, no BPF at all).
  static Result<std::unique_ptr<Tracer>> start(const TracerConfig& cfg, RecordHandler handler);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  // Waits up to timeout_ms for records, then hands every pending record to
  // the handler. Returns the number handled, or an error (EINTR is 0).
  Result<int> poll(int timeout_ms);
  // Hands over what is pending without waiting.
  Result<int> drain();
  // Readable when the kernel has woken the ring buffer's reader (an epoll
  // fd): for a reader that waits on other descriptors too.
  int ring_fd() const;

  // Sum over CPUs of one kernel counter (enum sstrace_stat).
  uint64_t stat(sstrace_stat which) const;
  // Runs of our programs the kernel skipped because one of them was already
  // running on that CPU (bpf_prog_info.recursion_misses, 5.12+): events that
  // never happened for us, so they count as lost. tcp_probe is left out: a
  // missed sample of it is rarely a missed rtt event (missed_rtt_samples()).
  uint64_t missed_runs() const;
  // State changes the first state program was skipped for and the second
  // handled (bpf/sstrace.bpf.c, rescue_inet_sock_set_state): not lost.
  uint64_t rescued_runs() const;
  uint64_t missed_rtt_samples() const;
  const std::vector<Degradation>& degradations() const { return degradations_; }
  // The running kernel's reset reasons (enum sk_rst_reason, from its BTF),
  // indexed by value, named as reset events spell them; empty where the
  // kernel has none.
  const std::vector<std::string>& reset_reason_names() const { return reset_reason_names_; }

 private:
  Tracer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<Degradation> degradations_;
  std::vector<std::string> reset_reason_names_;
  RecordHandler handler_;
};

// An enumerator of enum sk_rst_reason as reset events name it: without the
// SK_RST_REASON_ prefix, in lower case (SK_RST_REASON_NO_SOCKET -> no_socket).
std::string reset_reason_name(std::string_view enumerator);

// Makes sure tracefs is mounted (classic tracepoints attach through it):
// true when this call mounted it (Tracer::start unmounts it again once the
// programs are attached: attached tracepoints do not need it), an error
// saying whether it is missing or unreadable.
Result<bool> ensure_tracefs();

}  // namespace sstrace::bpf

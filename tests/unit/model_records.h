// Kernel records and dump entries for the model's and the aggregator's
// unit tests: a connection 127.0.0.1:lport -> 127.0.0.2:rport in one
// namespace.
#pragma once

#include <arpa/inet.h>

#include <cstring>

#include "diag/sock_info.h"
#include "sstrace/events.h"

namespace sstrace::model {

constexpr uint32_t kNetns = 4026531840u;

inline sstrace_record state_rec(uint64_t cookie, uint8_t from, uint8_t to, uint64_t ts,
                                uint16_t lport = 40000, uint16_t rport = 80) {
  sstrace_record r{};
  r.kind = SSTRACE_REC_STATE;
  r.ts_ns = ts;
  r.id.cookie = cookie;
  r.id.netns = kNetns;
  r.id.family = AF_INET;
  r.id.sport = lport;
  r.id.dport = rport;
  inet_pton(AF_INET, "127.0.0.1", r.id.saddr);
  inet_pton(AF_INET, "127.0.0.2", r.id.daddr);
  r.state.old_state = from;
  r.state.new_state = to;
  return r;
}

inline sstrace_record with_owner(sstrace_record r, uint32_t pid, const char* comm) {
  r.owner.pid = pid;
  std::strncpy(r.owner.comm, comm, sizeof(r.owner.comm) - 1);
  return r;
}

inline diag::SockInfo dumped(uint64_t cookie, uint8_t state, uint16_t lport = 40000,
                             uint16_t rport = 80) {
  diag::SockInfo s;
  s.kind = diag::SockKind::tcp;
  s.family = AF_INET;
  s.state = state;
  s.cookie = cookie;
  s.netns = kNetns;
  s.inode = 1234;
  s.local.port = lport;
  s.remote.port = rport;
  inet_pton(AF_INET, "127.0.0.1", s.local.addr.data());
  inet_pton(AF_INET, "127.0.0.2", s.remote.addr.data());
  return s;
}

}  // namespace sstrace::model

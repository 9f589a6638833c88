// model_replay: replays a synthetic churn through ConnectionTable with a
// sink that only counts: the model's own CPU per connection and per event,
// without the kernel, the ring buffer or the output (which a churn run on a
// shared machine cannot separate from the noise).
//
//   model_replay [--rate CONN_PER_S] [--seconds SIMULATED_S]
//
// Per connection: client CLOSE->SYN-SENT (no port), SYN-SENT->ESTAB,
// ESTAB->FIN-WAIT-1->FIN-WAIT-2->CLOSE(TIME-WAIT); server LISTEN->SYN-RECV->
// ESTAB->CLOSE-WAIT->LAST-ACK->CLOSE. Minisocket sweeps every 250 ms of
// simulated time; a due TIME-WAIT is answered "gone". Client ports cycle
// through 64,000, so TIME-WAITs are also taken over by reuse, as in a churn
// that exhausts the port range.
#include <arpa/inet.h>
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "model/connection_table.h"

using namespace sstrace;
using namespace sstrace::model;

static double cpu_s() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static sstrace_record rec(uint64_t cookie, uint8_t from, uint8_t to, uint64_t ts, uint16_t lport,
                          uint16_t rport) {
  sstrace_record r{};
  r.kind = SSTRACE_REC_STATE;
  r.ts_ns = ts;
  r.id.cookie = cookie;
  r.id.netns = 4026531840u;
  r.id.family = AF_INET;
  r.id.sport = lport;
  r.id.dport = rport;
  inet_pton(AF_INET, "127.42.0.1", r.id.saddr);
  inet_pton(AF_INET, "127.42.0.2", r.id.daddr);
  r.state.old_state = from;
  r.state.new_state = to;
  r.owner.pid = 1234;
  std::strcpy(r.owner.comm, "churn");
  return r;
}

int main(int argc, char** argv) {
  uint64_t rate = 15000, secs = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rate"))
      rate = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--seconds"))
      secs = std::strtoull(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "usage: model_replay [--rate CONN_PER_S] [--seconds SIMULATED_S]\n");
      return 2;
    }
  }
  if (!rate) return 2;
  uint64_t events = 0;
  ConnectionTable t([&](const Event&) { ++events; });
  uint64_t step = 1'000'000'000 / rate, cookie = 1, next_sweep = 250'000'000;
  double c0 = cpu_s();
  uint64_t conns = 0;
  for (uint64_t now = 1; now < secs * 1'000'000'000ull; now += step, ++conns) {
    uint16_t port = uint16_t(1024 + conns % 64000);
    uint64_t cl = cookie++, sv = cookie++;
    using namespace diag;
    t.apply(rec(cl, kClose, kSynSent, now, 0, 7000));
    t.apply(rec(sv, kListen, kSynRecv, now + 1, 7000, port));
    t.apply(rec(cl, kSynSent, kEstablished, now + 2, port, 7000));
    t.apply(rec(sv, kSynRecv, kEstablished, now + 3, 7000, port));
    t.apply(rec(cl, kEstablished, kFinWait1, now + 4, port, 7000));
    t.apply(rec(sv, kEstablished, kCloseWait, now + 5, 7000, port));
    t.apply(rec(cl, kFinWait1, kFinWait2, now + 6, port, 7000));
    t.apply(rec(sv, kCloseWait, kLastAck, now + 7, 7000, port));
    auto tw = rec(cl, kFinWait2, kClose, now + 8, port, 7000);
    tw.state.flags = SSTRACE_STATE_TO_TIMEWAIT | SSTRACE_STATE_FIN_RECEIVED;
    t.apply(tw);
    t.apply(rec(sv, kLastAck, kClose, now + 9, 7000, port));
    if (now >= next_sweep) {
      // As LiveStream::sweep_minisockets: every due one is looked up, gone.
      for (const auto& m : t.minisockets_due(now)) t.minisocket_checked(m.key, nullptr, now);
      next_sweep = now + 250'000'000;
    }
  }
  double cpu = cpu_s() - c0;
  std::printf("conns %lu events %lu table %zu cpu_s %.3f us_per_conn %.3f us_per_event %.4f\n",
              (unsigned long)conns, (unsigned long)events, t.size(), cpu, cpu / conns * 1e6,
              cpu / events * 1e6);
}

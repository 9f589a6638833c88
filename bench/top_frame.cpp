// top_frame: the CPU one `sstrace top` refresh costs with N tracked
// connections (issue 9: under 10 ms per frame with 100,000): the
// Aggregator's frame() plus the text of the frame, with no kernel and no
// terminal. The connections are fed as seeding snapshot events, and between
// frames a churn of state events (opens) keeps the counts non-zero.
//
//   top_frame [--connections N] [--peers P] [--ports Q] [--frames F]
//
// Groups: peer-port over P peers x Q service ports x {in, out} (at most
// N). Per frame, the CPU of: frame(); the --batch text (every group); the
// screen's table (24 rows, what the ncurses view formats); the --json line.
#include <arpa/inet.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "aggregate/aggregator.h"
#include "diag/sock_info.h"
#include "views/frame_json.h"
#include "views/top_text.h"

using namespace sstrace;

namespace {

double cpu_ms() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) / 1e6;
}

model::Connection connection(uint64_t i, uint64_t peers, uint64_t ports, bool out = false) {
  model::Connection c;
  c.key = {4026531840u, 1000 + i};
  c.family = AF_INET;
  c.state = i % 10 == 0 ? diag::kTimeWait : diag::kEstablished;
  const bool in = !out && i % 2 == 0;
  c.dir = in ? model::Direction::in : model::Direction::out;
  uint32_t peer = htonl(0x0a000000u + uint32_t(i % peers) + 1);
  uint32_t self = htonl(0x0a640001u);
  std::memcpy(c.local.addr.data(), &self, 4);
  std::memcpy(c.remote.addr.data(), &peer, 4);
  const uint16_t service = uint16_t(8000 + (i / peers) % ports);
  const uint16_t ephemeral = uint16_t(32768 + i % 28000);
  c.local.port = in ? service : ephemeral;
  c.remote.port = in ? ephemeral : service;
  c.owner = {uint32_t(1000 + i % 50), "worker-" + std::to_string(i % 50)};
  c.srtt_us = uint32_t(50 + i % 5000);
  return c;
}

struct Stats {
  std::vector<double> ms;
  void add(double v) { ms.push_back(v); }
  double median() {
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
  }
  double max() const { return *std::max_element(ms.begin(), ms.end()); }
};

}  // namespace

int main(int argc, char** argv) {
  uint64_t n = 100000, peers = 200, ports = 5;
  int frames = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    uint64_t v = std::strtoull(argv[i + 1], nullptr, 10);
    if (a == "--connections")
      n = v;
    else if (a == "--peers")
      peers = std::max<uint64_t>(v, 1);
    else if (a == "--ports")
      ports = std::max<uint64_t>(v, 1);
    else if (a == "--frames")
      frames = int(std::max<uint64_t>(v, 1));
    else {
      std::fprintf(stderr,
                   "usage: top_frame [--connections N] [--peers P] [--ports Q] [--frames F]\n");
      return 2;
    }
  }
  aggregate::AggregatorOptions o;
  o.ephemeral_lo = 32768;
  o.ephemeral_hi = 60999;
  aggregate::Aggregator agg(o);
  std::vector<model::Connection> conns;
  conns.reserve(n);
  for (uint64_t i = 0; i < n; ++i) conns.push_back(connection(i, peers, ports));
  model::Event e;
  e.type = model::EventType::snapshot;
  for (const auto& c : conns) {
    e.conn = &c;
    agg.observe(e);
  }
  uint64_t now = 1'000'000'000;
  agg.frame(now);

  Stats frame_ms, batch_ms, screen_ms, json_ms;
  size_t groups = 0, batch_bytes = 0;
  model::Connection fresh = conns[0];
  for (int f = 0; f < frames; ++f) {
    // A second of churn: 1,000 opens spread over the groups (the same
    // sockets each time, so the table keeps its size).
    model::Event s;
    s.type = model::EventType::state;
    s.old_state = diag::kClose;
    s.new_state = diag::kSynSent;
    for (uint64_t k = 0; k < 1000; ++k) {
      fresh = connection(n + k, peers, ports, /*out=*/true);
      fresh.state = diag::kSynSent;
      fresh.dir = model::Direction::out;
      s.conn = &fresh;
      agg.observe(s);
    }
    now += 1'000'000'000;
    double t0 = cpu_ms();
    aggregate::Frame fr = agg.frame(now);
    double t1 = cpu_ms();
    views::TopHeader h;
    h.ts = "2026-11-22T02:31:07.123456Z";
    std::string text = views::top_batch_text(fr, h);
    double t2 = cpu_ms();
    views::TopTable table = views::top_table(fr, aggregate::Column::opens, 20);
    std::string screen;
    for (size_t r = 0; r < table.cells.size(); ++r) screen += table.row_line(r, 80);
    double t3 = cpu_ms();
    std::string json = views::top_json(fr, h.ts).dump();
    double t4 = cpu_ms();
    frame_ms.add(t1 - t0);
    batch_ms.add(t2 - t1);
    screen_ms.add(t3 - t2);
    json_ms.add(t4 - t3);
    groups = fr.groups.size();
    batch_bytes = text.size();
  }
  std::printf("connections %zu  groups %zu  frames %d  batch text %zu bytes\n", agg.connections(),
              groups, frames, batch_bytes);
  std::printf("CPU ms per frame (median / max):\n");
  std::printf("  frame()             %7.2f / %7.2f\n", frame_ms.median(), frame_ms.max());
  std::printf("  --batch text        %7.2f / %7.2f\n", batch_ms.median(), batch_ms.max());
  std::printf("  screen table (20)   %7.2f / %7.2f\n", screen_ms.median(), screen_ms.max());
  std::printf("  --json object       %7.2f / %7.2f\n", json_ms.median(), json_ms.max());
  std::printf("  frame() + screen    %7.2f\n", frame_ms.median() + screen_ms.median());
  std::printf("  frame() + batch     %7.2f\n", frame_ms.median() + batch_ms.median());
  return 0;
}

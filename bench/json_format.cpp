// json_format: the JSON writer's CPU per event-shaped line (a `state` event:
// constant keys, ss state names, a timestamp, addresses, a comm, numbers),
// without the model or a device: the hot path of every JSON line the stream
// writes, measured alone so that a change to string escaping shows above
// the noise of a shared machine.
//
//   json_format [--lines N] [--comm TEXT] [--path TEXT]
//
// --comm sets the process name written in each line (default "nginx");
// --path adds a string field with that text (a unix socket path, say), to
// price strings that need escaping. Prints ns per line (CPU time).
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "output/json_writer.h"

using sstrace::output::JsonWriter;

static double cpu_s() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static void state_line(std::string& out, uint64_t i, const std::string& comm,
                       const std::string& path) {
  JsonWriter w(out);
  w.begin_object();
  w.field("type", "state").field("ts", "2026-11-22T02:31:07.123456Z").field("v", 1);
  w.field("netns", uint64_t(4026531840u)).field("cookie", 90000 + i);
  w.field("family", "inet").field("proto", "tcp");
  w.key("laddr").quoted([](std::string& o) { o += "10.0.0.1"; });
  w.field("lport", 443);
  w.key("raddr").quoted([](std::string& o) { o += "10.0.3.17"; });
  w.field("rport", 40000 + i % 20000).field("state", "FIN-WAIT-1");
  w.field("old", "ESTAB").field("new", "FIN-WAIT-1").field("old_us", 1203000 + i);
  w.field("pid", 4242).field("comm", comm);
  if (!path.empty()) w.field("path", path);
  w.end_object();
  out += '\n';
}

int main(int argc, char** argv) {
  uint64_t lines = 5'000'000;
  std::string comm = "nginx", path;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--lines")) lines = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--comm")) comm = argv[i + 1];
    if (!std::strcmp(argv[i], "--path")) path = argv[i + 1];
  }
  std::string out;
  out.reserve(1 << 20);
  size_t bytes = 0;
  const double t0 = cpu_s();
  for (uint64_t i = 0; i < lines; ++i) {
    state_line(out, i, comm, path);
    // A drain's worth of lines, then the buffer is reused, as the writers do.
    if (out.size() > (1 << 19)) {
      bytes += out.size();
      out.clear();
    }
  }
  bytes += out.size();
  const double t1 = cpu_s();
  std::printf("lines %llu bytes %zu ns_per_line %.1f\n", (unsigned long long)lines, bytes,
              (t1 - t0) * 1e9 / double(lines));
  return 0;
}

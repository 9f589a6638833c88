// libFuzzer target for the filter: any bytes as filter words (split at
// newlines, as argv words would arrive), parsed with a table resolver so no
// input reaches DNS or the file system. A parse either throws UsageError or
// yields a filter whose backends must hold together:
//  - the bytecode passes the kernel's audit,
//  - matches() never allocates or crashes on a spread of sockets,
//  - the prefilter never rejects a TCP socket matches() keeps.
#include <arpa/inet.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/result.h"
#include "diag/bytecode.h"
#include "diag/sock_info.h"
#include "filter/filter.h"
#include "filter/resolver.h"

namespace {

using sstrace::diag::SockInfo;
using sstrace::diag::SockKind;
using sstrace::filter::Filter;
using sstrace::filter::TableResolver;

const TableResolver& resolver() {
  static const TableResolver r = [] {
    TableResolver t;
    t.add_host("localhost", "127.0.0.1");
    t.add_host("dual", "10.0.0.1");
    t.add_host("dual", "2001:db8::1");
    t.services[{"http", "tcp"}] = 80;
    t.services[{"http", "udp"}] = 80;
    t.services[{"odd", "tcp"}] = 1;
    t.services[{"odd", "udp"}] = 2;
    t.interfaces["lo"] = 1;
    t.cgroups["app"] = 7;
    return t;
  }();
  return r;
}

SockInfo inet(int family, const char* l, uint16_t lp, const char* r, uint16_t rp, uint8_t state) {
  SockInfo s;
  s.kind = SockKind::tcp;
  s.family = static_cast<uint8_t>(family);
  s.state = state;
  inet_pton(family, l, s.local.addr.data());
  inet_pton(family, r, s.remote.addr.data());
  s.local.port = lp;
  s.remote.port = rp;
  s.ifindex = 1;
  s.has_mark = true;
  s.mark = 1;
  return s;
}

const std::vector<SockInfo>& sockets() {
  static const std::vector<SockInfo> all = [] {
    std::vector<SockInfo> v;
    v.push_back(inet(AF_INET, "10.0.0.1", 80, "10.0.0.2", 40000, 1));
    v.push_back(inet(AF_INET, "0.0.0.0", 22, "0.0.0.0", 0, 10));
    v.push_back(inet(AF_INET6, "::ffff:10.0.0.1", 443, "::ffff:127.0.0.1", 1, 1));
    v.push_back(inet(AF_INET6, "::", 0, "::", 0, 7));
    v.push_back(inet(AF_INET6, "2001:db8::1", 65535, "::1", 1024, 6));
    SockInfo u;
    u.kind = SockKind::unix_stream;
    u.family = AF_UNIX;
    u.state = 1;
    u.inode = 20570;
    u.unix_peer_inode = 20571;
    u.unix_path = "/run/x.sock";
    v.push_back(u);
    u.unix_path = "@0001f";
    v.push_back(u);
    SockInfo p;
    p.kind = SockKind::packet_raw;
    p.family = AF_PACKET;
    p.state = 7;
    p.packet_protocol = 3;
    p.ifindex = 2;
    v.push_back(p);
    return v;
  }();
  return all;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  sstrace::filter::ParseOptions opts;
  opts.resolver = &resolver();
  static const int kFamilies[] = {AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX, AF_PACKET};
  opts.family = kFamilies[data[0] % 5];
  opts.tcp = (data[0] & 0x10) == 0;
  opts.udp = (data[0] & 0x20) == 0;
  std::vector<std::string> words(1);
  for (size_t i = 1; i < size; ++i) {
    if (data[i] == '\n')
      words.emplace_back();
    else
      words.back() += static_cast<char>(data[i]);
  }
  try {
    Filter f = Filter::parse(words, opts);
    f.set_default_states(0xfff);
    (void)f.str();
    const std::vector<uint8_t> code = f.inet_bytecode();
    if (!code.empty()) {
      const std::string why = sstrace::diag::bc::audit(code, true);
      if (!why.empty()) {
        std::fprintf(stderr, "bytecode fails the kernel's audit: %s\n", why.c_str());
        std::abort();
      }
    }
    std::optional<sstrace::filter::Prefilter> pre = f.prefilter();
    for (const SockInfo& s : sockets()) {
      const bool keep = f.matches(s);
      if (keep && pre && s.kind == SockKind::tcp &&
          !pre->admits(s.family, s.state, s.local.port, s.remote.port)) {
        std::fprintf(stderr, "prefilter drops a socket the filter keeps\n");
        std::abort();
      }
    }
  } catch (const sstrace::UsageError&) {
  }
  return 0;
}

#include "output/format.h"

#include <arpa/inet.h>
#include <ftw.h>
#include <net/if.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <mutex>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "output/append_number.h"
#include "output/terminal_text.h"

namespace sstrace::output {

using diag::SockInfo;
using diag::SockKind;

namespace {

// printf into a std::string; the formats here are short and fixed.
template <typename... Args>
std::string sprintf_str(const char* fmt, Args... args) {
  char buf[128];
  int n = std::snprintf(buf, sizeof buf, fmt, args...);
  if (n < 0) return {};
  if (static_cast<size_t>(n) < sizeof buf) return std::string(buf, n);
  std::string s(n, '\0');
  std::snprintf(s.data(), s.size() + 1, fmt, args...);
  return s;
}

// A lookup cache guarded by a mutex: the live stream may format from more
// than one thread, and every lookup behind it is slow (NSS, syscalls).
template <typename K, typename V>
class Cache {
 public:
  template <typename F>
  V get(const K& key, F compute) {
    {
      std::lock_guard lock(mu_);
      if (auto it = map_.find(key); it != map_.end()) return it->second;
    }
    V v = compute();
    std::lock_guard lock(mu_);
    return map_.emplace(key, std::move(v)).first->second;
  }

 private:
  std::mutex mu_;
  std::unordered_map<K, V> map_;
};

struct AddrKey {
  uint8_t family;
  std::array<uint8_t, 16> addr;
  bool operator==(const AddrKey&) const = default;
};
struct AddrKeyHash {
  size_t operator()(const AddrKey& k) const {
    uint64_t a, b;
    std::memcpy(&a, k.addr.data(), 8);
    std::memcpy(&b, k.addr.data() + 8, 8);
    return std::hash<uint64_t>()(a ^ (b * 0x9e3779b97f4a7c15ULL) ^ k.family);
  }
};

}  // namespace

// --- Names -------------------------------------------------------------------

std::string_view state_name(uint8_t state) {
  // Index: kernel TCP state number (include/net/tcp_states.h).
  static constexpr std::string_view kNames[] = {
      "UNKNOWN",   "ESTAB",  "SYN-SENT",   "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
      "TIME-WAIT", "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN",     "CLOSING",
  };
  return state < std::size(kNames) ? kNames[state] : kNames[0];
}

std::string_view netid_name(SockKind kind) {
  switch (kind) {
    case SockKind::tcp:
      return "tcp";
    case SockKind::udp:
      return "udp";
    // ss names a netlink-dumped RAW socket after its protocol ("???" for
    // ICMP); the reference kernel has no raw_diag, so ss reads
    // /proc/net/raw and says "raw", which is also the honest name.
    case SockKind::raw:
      return "raw";
    case SockKind::unix_stream:
      return "u_str";
    case SockKind::unix_dgram:
      return "u_dgr";
    case SockKind::unix_seqpacket:
      return "u_seq";
    case SockKind::packet_raw:
      return "p_raw";
    case SockKind::packet_dgram:
      return "p_dgr";
    case SockKind::netlink:
      return "nl";
  }
  return "???";
}

std::string_view family_name(const SockInfo& s) {
  if (s.is_unix()) return "unix";
  if (s.is_packet()) return "packet";
  if (s.is_netlink()) return "netlink";
  return s.family == AF_INET6 ? "inet6" : "inet";
}

std::string_view proto_name(SockKind kind) {
  switch (kind) {
    case SockKind::tcp:
      return "tcp";
    case SockKind::udp:
      return "udp";
    case SockKind::raw:
      return "raw";
    case SockKind::unix_stream:
    case SockKind::unix_dgram:
    case SockKind::unix_seqpacket:
      return "unix";
    case SockKind::packet_raw:
    case SockKind::packet_dgram:
      return "packet";
    case SockKind::netlink:
      return "netlink";
  }
  return "unknown";
}

std::string_view timer_name(uint8_t timer) {
  static constexpr std::string_view kNames[] = {"off", "on", "keepalive", "timewait", "persist"};
  return timer < std::size(kNames) ? kNames[timer] : "unknown";
}

std::string shutdown_text(uint8_t mask) {
  // RCV_SHUTDOWN = 1, SEND_SHUTDOWN = 2 (include/net/sock.h).
  std::string s = "<->";
  if (mask & 1) s[0] = '-';
  if (mask & 2) s[2] = '-';
  return s;
}

// --- Numbers -----------------------------------------------------------------

std::string ms_timer(uint32_t ms) {
  unsigned secs = ms / 1000;
  const unsigned minutes = secs / 60;
  secs %= 60;
  unsigned msecs = ms % 1000;
  std::string out;
  // ss keeps about two significant parts: minutes hide milliseconds, and
  // ten minutes or more hide the seconds too.
  if (minutes) {
    msecs = 0;
    append_int(out, minutes);
    out += "min";
    if (minutes > 9) secs = 0;
  }
  if (secs) {
    if (secs > 9) msecs = 0;
    append_int(out, secs);
    out += msecs ? "." : "sec";
  }
  if (msecs) {
    append_zero_padded(out, msecs, 3);
    out += "ms";
  }
  return out;
}

std::string timer_text(uint8_t timer, uint32_t expires_ms, uint8_t retrans) {
  std::string out = "timer:(";
  out += timer_name(timer);
  out += ',';
  out += ms_timer(expires_ms);
  out += ',';
  append_int(out, static_cast<int>(retrans));
  out += ')';
  return out;
}

void append_rate_text(std::string& out, double bps, bool numeric) {
  if (numeric) return append_fixed(out, bps, 0);  // "%.0f"
  struct Unit {
    double scale;
    char suffix;
  };
  static constexpr Unit kUnits[] = {{1e12, 'T'}, {1e9, 'G'}, {1e6, 'M'}, {1e3, 'k'}};
  for (const Unit& u : kUnits) {
    if (bps >= u.scale) {
      append_general(out, bps / u.scale, 3);  // "%.3gM"
      out += u.suffix;
      return;
    }
  }
  append_general(out, bps);  // "%g"
}

std::string rate_text(double bps, bool numeric) {
  std::string out;
  append_rate_text(out, bps, numeric);
  return out;
}

std::string g_text(double v) {
  std::string out;
  append_general(out, v);
  return out;
}

// --- Addresses -----------------------------------------------------------------

namespace {

// The longest run of zero 16-bit groups, the first of equal ones; none
// (len 0) when it is shorter than two groups.
struct ZeroRun {
  int base = -1;
  int len = 0;
};
ZeroRun longest_zero_run(const std::array<uint16_t, 8>& w) {
  ZeroRun best, cur;
  for (int i = 0; i < 8; ++i) {
    if (w[i] == 0) {
      if (cur.base < 0) cur = {i, 0};
      if (++cur.len > best.len) best = cur;
    } else {
      cur = {};
    }
  }
  return best.len >= 2 ? best : ZeroRun{};
}

// inet_ntop(AF_INET6)'s text, which is what ss prints: lower-case hex
// groups, the longest zero run (two groups or more) as "::", and the
// v4-mapped (::ffff:a.b.c.d) and v4-compatible (::a.b.c.d) forms. glibc
// prints every group with sprintf; to_chars into one buffer is the same
// text, tests/unit/output_append_number_test.cpp compares the two.
void append_ipv6_text(std::string& out, const std::array<uint8_t, 16>& addr) {
  std::array<uint16_t, 8> w;
  for (size_t i = 0; i < 8; ++i) w[i] = static_cast<uint16_t>(addr[2 * i] << 8 | addr[2 * i + 1]);
  const ZeroRun zeros = longest_zero_run(w);
  char buf[INET6_ADDRSTRLEN];
  char* p = buf;
  for (int i = 0; i < 8; ++i) {
    if (zeros.len && i >= zeros.base && i < zeros.base + zeros.len) {
      if (i == zeros.base) *p++ = ':';
      continue;
    }
    if (i) *p++ = ':';
    if (i == 6 && zeros.base == 0 && (zeros.len == 6 || (zeros.len == 5 && w[5] == 0xffff))) {
      for (size_t k = 12; k < 16; ++k) {
        if (k > 12) *p++ = '.';
        p = std::to_chars(p, buf + sizeof buf, unsigned{addr[k]}).ptr;
      }
      out.append(buf, static_cast<size_t>(p - buf));
      return;
    }
    p = std::to_chars(p, buf + sizeof buf, unsigned{w[i]}, 16).ptr;
  }
  if (zeros.len && zeros.base + zeros.len == 8) *p++ = ':';
  out.append(buf, static_cast<size_t>(p - buf));
}

}  // namespace

void append_addr_text(std::string& out, uint8_t family, const std::array<uint8_t, 16>& addr) {
  if (family != AF_INET6) {
    // inet_ntop's IPv4 text is four decimal bytes, which glibc prints with
    // sprintf; to_chars into one buffer and a single append is the same
    // text at a fraction of the cost.
    char buf[INET_ADDRSTRLEN];
    char* p = buf;
    for (size_t i = 0; i < 4; ++i) {
      if (i) *p++ = '.';
      p = std::to_chars(p, buf + sizeof buf, unsigned{addr[i]}).ptr;
    }
    out.append(buf, p);
    return;
  }
  append_ipv6_text(out, addr);
}

std::string addr_text(uint8_t family, const std::array<uint8_t, 16>& addr) {
  std::string out;
  append_addr_text(out, family, addr);
  return out;
}

bool addr_is_any(uint8_t family, const std::array<uint8_t, 16>& addr) {
  const size_t n = family == AF_INET6 ? 16 : 4;
  for (size_t i = 0; i < n; ++i)
    if (addr[i]) return false;
  return true;
}

std::string host_name(uint8_t family, const std::array<uint8_t, 16>& addr) {
  static std::mutex mu;
  static std::unordered_map<AddrKey, std::string, AddrKeyHash> names;
  AddrKey key{family, addr};
  {
    std::lock_guard lock(mu);
    if (auto it = names.find(key); it != names.end()) return it->second;
  }
  // ss looks v4-mapped IPv6 addresses up as the IPv4 address they carry.
  int af = family == AF_INET6 ? AF_INET6 : AF_INET;
  const uint8_t* p = addr.data();
  socklen_t len = af == AF_INET6 ? 16 : 4;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (af == AF_INET6 && std::memcmp(p, kMapped, 12) == 0) {
    af = AF_INET;
    p += 12;
    len = 4;
  }
  std::string name;
  {
    // gethostbyaddr is what ss calls (not getnameinfo): the same name for
    // the same /etc/hosts line. Its static result needs the lock.
    std::lock_guard lock(mu);
    static bool opened = false;
    if (!opened) {
      sethostent(1);
      opened = true;
    }
    if (const hostent* h = gethostbyaddr(p, len, af); h && h->h_name) name = h->h_name;
    names.emplace(key, name);
  }
  return name;
}

void append_ss_host_column(std::string& out, uint8_t family, const std::array<uint8_t, 16>& addr,
                           bool v6only, bool resolve) {
  if (family == AF_INET6 && !v6only && addr_is_any(family, addr)) {
    out += '*';
    return;
  }
  if (resolve) {
    if (const std::string name = host_name(family, addr); !name.empty()) {
      const bool bracket = family == AF_INET6 && name.find(':') != std::string::npos;
      if (bracket) out += '[';
      out += name;
      if (bracket) out += ']';
      return;
    }
  }
  // inet_ntop's IPv6 text always has a ':', so it is always bracketed.
  const bool bracket = family == AF_INET6;
  if (bracket) out += '[';
  append_addr_text(out, family, addr);
  if (bracket) out += ']';
}

std::string ss_host_column(uint8_t family, const std::array<uint8_t, 16>& addr, bool v6only,
                           bool resolve) {
  std::string out;
  append_ss_host_column(out, family, addr, v6only, resolve);
  return out;
}

namespace {

// net.ipv4.ip_local_port_range of the namespace we run in; ss does not name
// ports in it ("/etc/services lists a lot of useless names there").
std::pair<unsigned, unsigned> ephemeral_range() {
  static const std::pair<unsigned, unsigned> range = [] {
    std::ifstream f("/proc/sys/net/ipv4/ip_local_port_range");
    unsigned lo = 0, hi = 0;
    if (f >> lo >> hi) return std::pair{lo, hi};
    return std::pair{1024u, 4999u};  // ss's fallback
  }();
  return range;
}

}  // namespace

void append_service_text(std::string& out, uint16_t port, std::string_view proto, bool numeric) {
  if (port == 0)
    out += '*';
  else if (numeric)
    append_int(out, port);
  else
    out += service_text(port, proto, numeric);
}

std::string service_text(uint16_t port, std::string_view proto, bool numeric) {
  if (port == 0) return "*";
  if (numeric) return std::to_string(port);
  static Cache<uint32_t, std::string> cache;
  const bool udp = proto == "udp";
  const uint32_t key = (udp ? 1u << 16 : 0u) | port;
  return cache.get(key, [&] {
    auto [lo, hi] = ephemeral_range();
    if (port >= lo && port <= hi) return std::to_string(port);
    static std::mutex mu;  // getservbyport returns static storage
    std::lock_guard lock(mu);
    static bool opened = false;
    if (!opened) {
      setservent(1);
      opened = true;
    }
    if (const servent* se = getservbyport(htons(port), udp ? "udp" : "tcp"); se && se->s_name)
      return std::string(se->s_name);
    return std::to_string(port);
  });
}

std::string ip_proto_text(unsigned proto, bool numeric) {
  if (numeric) return std::to_string(proto);
  static Cache<unsigned, std::string> cache;
  return cache.get(proto, [&] {
    static std::mutex mu;
    std::lock_guard lock(mu);
    if (const protoent* pe = getprotobynumber(static_cast<int>(proto)); pe && pe->p_name)
      return std::string(pe->p_name);
    return "ipproto-" + std::to_string(proto);
  });
}

std::string nl_proto_text(uint8_t proto, bool numeric) {
  // iproute2's nl_proto_tab (lib/rt_names.c), which is also what Debian's
  // /etc/iproute2/nl_protos lists; numbers from linux/netlink.h.
  static constexpr const char* kNames[] = {
      "rtnl",  "unused", "usersock",   "fw",        "tcpdiag", "nflog",  "xfrm",   "selinux",
      "iscsi", "audit",  "fiblookup",  "connector", "nft",     "ip6fw",  "dec-rt", "uevent",
      "genl",  nullptr,  "scsi-trans", "ecryptfs",  "rdma",    "crypto",
  };
  if (!numeric && proto < std::size(kNames) && kNames[proto] != nullptr) return kNames[proto];
  return std::to_string(proto);
}

std::string netlink_owner_text(uint32_t portid, bool numeric) {
  // ss keeps the portid in an int (ss.c netlink_show_one).
  const int32_t pid = static_cast<int32_t>(portid);
  if (pid == -1) return "*";
  if (!numeric) {
    if (pid == 0) return "kernel";
    if (pid > 0) {
      if (auto comm = sys::stat_comm(pid)) {
        std::string text;
        append_terminal_safe(text, *comm);
        return text + "/" + std::to_string(pid);
      }
    }
  }
  return std::to_string(pid);
}

std::string ll_proto_text(uint16_t proto, bool numeric) {
  if (proto == 0x0003) return "*";  // ETH_P_ALL
  // iproute2's ethertype names (lib/ll_proto.c); the first match wins, so
  // 0x0800 is "ip".
  struct Name {
    uint16_t id;
    const char* name;
  };
  static constexpr Name kNames[] = {
      {0x0060, "loop"},      {0x0200, "pup"},      {0x0201, "pupat"},     {0x0800, "ip"},
      {0x0805, "x25"},       {0x0806, "arp"},      {0x08ff, "bpq"},       {0x0a00, "ieeepup"},
      {0x0a01, "ieeepupat"}, {0x6000, "dec"},      {0x6001, "dna_dl"},    {0x6002, "dna_rc"},
      {0x6003, "dna_rt"},    {0x6004, "lat"},      {0x6005, "diag"},      {0x6006, "cust"},
      {0x6007, "sca"},       {0x8035, "rarp"},     {0x809b, "atalk"},     {0x80f3, "aarp"},
      {0x8137, "ipx"},       {0x86dd, "ipv6"},     {0x8863, "ppp_disc"},  {0x8864, "ppp_ses"},
      {0x884c, "atmmpoa"},   {0x8884, "atmfate"},  {0x0001, "802_3"},     {0x0002, "ax25"},
      {0x0003, "all"},       {0x0004, "802_2"},    {0x0005, "snap"},      {0x0006, "ddcmp"},
      {0x0007, "wan_ppp"},   {0x0008, "ppp_mp"},   {0x0009, "localtalk"}, {0x000c, "can"},
      {0x0010, "ppptalk"},   {0x0011, "tr_802_2"}, {0x0015, "mobitex"},   {0x0016, "control"},
      {0x0017, "irda"},      {0x0018, "econet"},   {0x88ca, "tipc"},      {0x88a2, "aoe"},
      {0x8100, "802.1Q"},    {0x88a8, "802.1ad"},  {0x88cc, "LLDP"},
  };
  if (!numeric)
    for (const Name& n : kNames)
      if (n.id == proto) return n.name;
  return "[" + std::to_string(proto) + "]";
}

std::string if_name(uint32_t ifindex) {
  if (ifindex == 0) return "*";
  static Cache<uint32_t, std::string> cache;
  return cache.get(ifindex, [&] {
    char buf[IF_NAMESIZE];
    if (if_indextoname(ifindex, buf)) return std::string(buf);
    return "if" + std::to_string(ifindex);
  });
}

namespace {

// /proc/mounts escapes blanks and backslashes in paths as \ooo.
std::string unescape_mount_path(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = 0;
      bool ok = true;
      for (size_t k = 1; k <= 3; ++k) {
        if (s[i + k] < '0' || s[i + k] > '7') {
          ok = false;
          break;
        }
        v = v * 8 + (s[i + k] - '0');
      }
      if (ok) {
        out += static_cast<char>(v);
        i += 3;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::optional<std::string> cgroup2_mount() {
  std::ifstream f("/proc/self/mounts");
  std::string line;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string dev, dir, type;
    if (in >> dev >> dir >> type && type == "cgroup2") return unescape_mount_path(dir);
  }
  return std::nullopt;
}

// cgroup id -> path under the cgroup2 mount. On cgroup2 the id is the
// directory's kernfs inode number (kernel/cgroup/cgroup.c, cgroup_id()), so
// one walk of the hierarchy maps them all, as ss does. A long-running
// process sees cgroups come and go: an unknown id walks again, at most once
// a second.
class CgroupMap {
 public:
  std::string path(uint64_t id) {
    std::lock_guard lock(mu_);
    if (auto it = paths_.find(id); it != paths_.end()) return it->second;
    const auto now = std::chrono::steady_clock::now();
    if (!loaded_ || now - loaded_at_ >= std::chrono::seconds(1)) {
      load();
      generation_.fetch_add(1, std::memory_order_relaxed);
      loaded_at_ = now;
      if (auto it = paths_.find(id); it != paths_.end()) return it->second;
    }
    return sprintf_str("unreachable:%" PRIx64, id);
  }
  // Counts the walks of the hierarchy, which may change any id's path.
  uint64_t generation() const { return generation_.load(std::memory_order_relaxed); }

 private:
  void load() {
    loaded_ = true;
    auto mnt = cgroup2_mount();
    if (!mnt) return;
    root_len_ = mnt->size();
    self_ = this;
    nftw(mnt->c_str(), &CgroupMap::visit, 64, FTW_MOUNT | FTW_PHYS);
    self_ = nullptr;
  }

  static int visit(const char* path, const struct stat* st, int type, FTW*) {
    if (type != FTW_D) return 0;
    std::string rel = std::string(path).substr(self_->root_len_);
    if (rel.empty()) rel = "/";
    self_->paths_.insert_or_assign(st->st_ino, std::move(rel));
    return 0;
  }

  static inline CgroupMap* self_ = nullptr;  // nftw has no user pointer
  std::mutex mu_;
  bool loaded_ = false;
  std::chrono::steady_clock::time_point loaded_at_;
  size_t root_len_ = 0;
  std::unordered_map<uint64_t, std::string> paths_;
  std::atomic<uint64_t> generation_{0};
};

CgroupMap& cgroup_map() {
  static CgroupMap map;
  return map;
}

}  // namespace

std::string cgroup_text(uint64_t id) { return cgroup_map().path(id); }

const std::string& cgroup_text_of_last(uint64_t id) {
  struct Memo {
    uint64_t id = 0;
    uint64_t generation = 0;
    bool valid = false;
    std::string text;
  };
  thread_local Memo memo;
  CgroupMap& map = cgroup_map();
  const uint64_t generation = map.generation();
  if (memo.valid && memo.id == id && memo.generation == generation) return memo.text;
  memo.text = map.path(id);
  memo.id = id;
  memo.generation = generation;
  // An unknown id is asked again next time: the map walks the hierarchy
  // again (at most once a second) for ids it does not know.
  memo.valid = !memo.text.starts_with("unreachable:");
  return memo.text;
}

// --- Owners and details ------------------------------------------------------

std::string_view ss_process_name(std::string_view comm) { return comm.substr(0, comm.find(')')); }

std::string users_text(std::span<const sys::SocketUser> users) {
  if (users.empty()) return {};
  std::string out = "users:(";
  bool first = true;
  for (const sys::SocketUser& u : users) {
    if (!first) out += ',';
    first = false;
    out += "(\"";
    append_terminal_safe(out, ss_process_name(u.comm));
    out += "\",pid=";
    append_int(out, u.pid);
    out += ",fd=";
    append_int(out, u.fd);
    out += ')';
  }
  out += ')';
  return out;
}

namespace {

// Appends each name followed by its number: " skmem:(r0,rb131072".
void append_named_numbers(std::string& out,
                          std::initializer_list<std::pair<const char*, uint32_t>> items) {
  for (const auto& [name, v] : items) {
    out += name;
    append_int(out, v);
  }
}

}  // namespace

void append_skmem_text(std::string& out, const SockInfo& s) {
  if (s.has_skmem) {
    const auto& m = s.skmem;
    append_named_numbers(out, {{" skmem:(r", m[diag::kRmemAlloc]},
                               {",rb", m[diag::kRcvbuf]},
                               {",t", m[diag::kWmemAlloc]},
                               {",tb", m[diag::kSndbuf]},
                               {",f", m[diag::kFwdAlloc]},
                               {",w", m[diag::kWmemQueued]},
                               {",o", m[diag::kOptmem]}});
    // Backlog and drops came later (linux/sock_diag.h); ss prints what the
    // kernel sent.
    const size_t n = s.skmem_count ? s.skmem_count : size_t{diag::kSkMemVars};
    if (n > diag::kBacklog) append_named_numbers(out, {{",bl", m[diag::kBacklog]}});
    if (n > diag::kDrops) append_named_numbers(out, {{",d", m[diag::kDrops]}});
    out += ')';
    return;
  }
  if (s.has_meminfo) {
    const auto& m = s.meminfo;
    append_named_numbers(out, {{" mem:(r", m[0]}, {",w", m[1]}, {",f", m[2]}, {",t", m[3]}});
    out += ')';
  }
}

std::string skmem_text(const SockInfo& s) {
  std::string out;
  append_skmem_text(out, s);
  return out;
}

namespace {

// tcp_info as the kernel filled it: fields past tcp_info_len read as 0, the
// way ss pads a short tcp_info from an older kernel.
class TcpInfoView {
 public:
  explicit TcpInfoView(const SockInfo& s)
      : ti_(s.tcp_info),
        len_(s.tcp_info_len ? std::min<size_t>(s.tcp_info_len, sizeof(tcp_info))
                            : sizeof(tcp_info)) {}
  bool has(size_t offset, size_t size) const { return offset + size <= len_; }
  const tcp_info& raw() const { return ti_; }

 private:
  const tcp_info& ti_;
  size_t len_;
};

#define TI_HAS(v, f) (v).has(offsetof(tcp_info, f), sizeof(tcp_info::f))
#define TI(v, f) (TI_HAS(v, f) ? (v).raw().f : decltype(tcp_info::f){})

constexpr uint32_t kInitialRtoUs = 3000000;  // TCP_TIMEOUT_INIT, which ss hides

// ss's send rate estimate: cwnd * mss per RTT, with Vegas' own RTT when it
// has one.
double send_bps(const SockInfo& s, const TcpInfoView& v) {
  double rtt = TI(v, tcpi_rtt);
  if (s.has_vegas && s.vegas.enabled && s.vegas.rtt_us && s.vegas.rtt_us != 0x7fffffff)
    rtt = s.vegas.rtt_us;
  const uint32_t mss = TI(v, tcpi_snd_mss), cwnd = TI(v, tcpi_snd_cwnd);
  if (rtt > 0 && mss && cwnd) return static_cast<double>(cwnd) * mss * 8000000.0 / rtt;
  return 0;
}

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

// --- Events --------------------------------------------------------------------

void Rfc3339Formatter::append(std::string& out, int64_t ns) {
  // Floor division: a time before 1970 still has a non-negative fraction.
  int64_t secs = ns / 1000000000;
  int64_t rem = ns % 1000000000;
  if (rem < 0) {
    rem += 1000000000;
    --secs;
  }
  out += prefix_.get(secs, [](int64_t second) {
    const time_t tt = static_cast<time_t>(second);
    struct tm tm {};
    gmtime_r(&tt, &tm);
    return sprintf_str("%04d-%02d-%02dT%02d:%02d:%02d.", tm.tm_year + 1900, tm.tm_mon + 1,
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  });
  append_zero_padded(out, static_cast<uint32_t>(rem / 1000), 6);
  out += 'Z';
}

std::string rfc3339_utc_ns(int64_t ns) {
  std::string out;
  Rfc3339Formatter().append(out, ns);
  return out;
}

std::string rfc3339_utc(std::chrono::system_clock::time_point t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  return rfc3339_utc_ns(ns.count());
}

// --- JSON fields -----------------------------------------------------------------

std::string json_laddr(const SockInfo& s) {
  if (s.is_unix()) return s.unix_path.empty() ? "*" : s.unix_path;
  if (s.is_packet()) return ll_proto_text(s.packet_protocol, true);
  if (s.is_netlink()) return std::to_string(s.netlink_protocol);
  // The IPv6 wildcard of a dual-stack socket is "*" in ss; v6only shows "::".
  if (s.family == AF_INET6 && !s.v6only && addr_is_any(s.family, s.local.addr)) return "*";
  return addr_text(s.family, s.local.addr);
}

std::string json_raddr(const SockInfo& s) {
  // A connected netlink socket's peer: its group, as ss prints it.
  if (s.is_netlink()) return s.netlink_state == 1 ? std::to_string(s.netlink_dst_group) : "*";
  if (!s.is_inet() || addr_is_any(s.family, s.remote.addr)) return "*";
  return addr_text(s.family, s.remote.addr);
}

namespace {

// The value of laddr/raddr. An inet address, the common case, goes straight
// into the line: no std::string per socket.
void write_json_addr(JsonWriter& w, const SockInfo& s, bool local) {
  const std::array<uint8_t, 16>& addr = local ? s.local.addr : s.remote.addr;
  const bool text_is_addr = s.is_inet() && !addr_is_any(s.family, addr);
  if (!text_is_addr) {
    w.value(local ? json_laddr(s) : json_raddr(s));
    return;
  }
  w.quoted([&](std::string& out) { append_addr_text(out, s.family, addr); });
}

void write_timer(JsonWriter& w, const SockInfo& s) {
  w.key("timer").begin_object();
  w.field("name", timer_name(s.timer));
  w.field("expires_ms", s.expires_ms);
  w.field("retrans", s.retrans);
  w.end_object();
}

void write_skmem(JsonWriter& w, const SockInfo& s) {
  const size_t n = std::min<size_t>(
      s.skmem_count ? size_t{s.skmem_count} : size_t{diag::kSkMemVars}, diag::kSkMemVars);
  // Literal keys (JsonWriter's unescaped path); the kernel sends the first n.
  auto var = [&]<size_t N>(size_t i, const char(&name)[N]) {
    if (i < n) w.field(name, s.skmem[i]);
  };
  w.key("skmem").begin_object();
  var(0, "rmem_alloc");
  var(1, "rcvbuf");
  var(2, "wmem_alloc");
  var(3, "sndbuf");
  var(4, "fwd_alloc");
  var(5, "wmem_queued");
  var(6, "optmem");
  var(7, "backlog");
  var(8, "drops");
  w.end_object();
}

void write_meminfo(JsonWriter& w, const SockInfo& s) {
  w.key("meminfo").begin_object();
  w.field("rmem", s.meminfo[0]);
  w.field("wmem", s.meminfo[1]);
  w.field("fmem", s.meminfo[2]);
  w.field("tmem", s.meminfo[3]);
  w.end_object();
}

void write_tcp_info(JsonWriter& w, const SockInfo& s) {
  const TcpInfoView v(s);
  const tcp_info& t = v.raw();
  w.key("tcp_info").begin_object();
  w.field("ts", (t.tcpi_options & TCPI_OPT_TIMESTAMPS) != 0);
  w.field("sack", (t.tcpi_options & TCPI_OPT_SACK) != 0);
  w.field("ecn", (t.tcpi_options & TCPI_OPT_ECN) != 0);
  w.field("ecnseen", (t.tcpi_options & TCPI_OPT_ECN_SEEN) != 0);
  w.field("fastopen", (t.tcpi_options & TCPI_OPT_SYN_DATA) != 0);
  if (t.tcpi_options & TCPI_OPT_WSCALE) {
    w.field("snd_wscale", static_cast<unsigned>(t.tcpi_snd_wscale));
    w.field("rcv_wscale", static_cast<unsigned>(t.tcpi_rcv_wscale));
  }
// One field when the kernel's tcp_info reached it.
#define TI_FIELD(name, f) \
  if (TI_HAS(v, f)) w.field(name, t.f)
  if (TI_HAS(v, tcpi_rto)) w.field("rto_ms", t.tcpi_rto / 1000.0);
  w.field("backoff", static_cast<unsigned>(t.tcpi_backoff));
  TI_FIELD("rtt_us", tcpi_rtt);
  TI_FIELD("rttvar_us", tcpi_rttvar);
  if (TI_HAS(v, tcpi_ato)) w.field("ato_ms", t.tcpi_ato / 1000.0);
  TI_FIELD("mss", tcpi_snd_mss);
  TI_FIELD("pmtu", tcpi_pmtu);
  TI_FIELD("rcvmss", tcpi_rcv_mss);
  TI_FIELD("advmss", tcpi_advmss);
  TI_FIELD("cwnd", tcpi_snd_cwnd);
  // TCP_INFINITE_SSTHRESH (0x7fffffff) until the first loss: unknown.
  if (TI_HAS(v, tcpi_snd_ssthresh) && t.tcpi_snd_ssthresh < 0xffff)
    w.field("ssthresh", t.tcpi_snd_ssthresh);
  TI_FIELD("bytes_sent", tcpi_bytes_sent);
  TI_FIELD("bytes_retrans", tcpi_bytes_retrans);
  TI_FIELD("bytes_acked", tcpi_bytes_acked);
  TI_FIELD("bytes_received", tcpi_bytes_received);
  TI_FIELD("segs_out", tcpi_segs_out);
  TI_FIELD("segs_in", tcpi_segs_in);
  TI_FIELD("data_segs_out", tcpi_data_segs_out);
  TI_FIELD("data_segs_in", tcpi_data_segs_in);
  if (double bps = send_bps(s, v); bps > 0) w.field("send_bps", static_cast<uint64_t>(bps + 0.5));
  TI_FIELD("lastsnd_ms", tcpi_last_data_sent);
  TI_FIELD("lastrcv_ms", tcpi_last_data_recv);
  TI_FIELD("lastack_ms", tcpi_last_ack_recv);
  // ~0 means "no limit" for both pacing rates (SO_MAX_PACING_RATE unset).
  if (TI_HAS(v, tcpi_pacing_rate) && t.tcpi_pacing_rate != ~0ULL)
    w.field("pacing_rate_bps", t.tcpi_pacing_rate * 8);
  if (TI_HAS(v, tcpi_max_pacing_rate) && t.tcpi_max_pacing_rate != ~0ULL)
    w.field("max_pacing_rate_bps", t.tcpi_max_pacing_rate * 8);
  if (TI_HAS(v, tcpi_delivery_rate)) {
    w.field("delivery_rate_bps", t.tcpi_delivery_rate * 8);
    w.field("app_limited", t.tcpi_delivery_rate_app_limited != 0);
  }
  TI_FIELD("delivered", tcpi_delivered);
  TI_FIELD("delivered_ce", tcpi_delivered_ce);
  TI_FIELD("busy_us", tcpi_busy_time);
  TI_FIELD("rwnd_limited_us", tcpi_rwnd_limited);
  TI_FIELD("sndbuf_limited_us", tcpi_sndbuf_limited);
  TI_FIELD("unacked", tcpi_unacked);
  TI_FIELD("retrans", tcpi_retrans);
  TI_FIELD("retrans_total", tcpi_total_retrans);
  TI_FIELD("lost", tcpi_lost);
  TI_FIELD("sacked", tcpi_sacked);
  TI_FIELD("dsack_dups", tcpi_dsack_dups);
  TI_FIELD("fackets", tcpi_fackets);
  TI_FIELD("reordering", tcpi_reordering);
  TI_FIELD("reord_seen", tcpi_reord_seen);
  TI_FIELD("rcv_rtt_us", tcpi_rcv_rtt);
  TI_FIELD("rcv_space", tcpi_rcv_space);
  TI_FIELD("rcv_ssthresh", tcpi_rcv_ssthresh);
  TI_FIELD("notsent", tcpi_notsent_bytes);
  // ~0 until the first RTT sample (minmax_reset in tcp_init_sock).
  if (TI_HAS(v, tcpi_min_rtt) && t.tcpi_min_rtt != ~0U) w.field("min_rtt_us", t.tcpi_min_rtt);
  TI_FIELD("rcv_ooopack", tcpi_rcv_ooopack);
  TI_FIELD("snd_wnd", tcpi_snd_wnd);
#undef TI_FIELD
  w.end_object();
}

void write_cong_details(JsonWriter& w, const SockInfo& s) {
  if (s.has_bbr) {
    w.key("bbr").begin_object();
    w.field("bw_bps", s.bbr.bw * 8);
    w.field("min_rtt_us", s.bbr.min_rtt_us);
    w.field("pacing_gain", s.bbr.pacing_gain / 256.0);
    w.field("cwnd_gain", s.bbr.cwnd_gain / 256.0);
    w.end_object();
  }
  if (s.has_dctcp) {
    w.key("dctcp").begin_object();
    w.field("enabled", s.dctcp.enabled != 0);
    w.field("ce_state", s.dctcp.ce_state);
    w.field("alpha", s.dctcp.alpha);
    w.field("ab_ecn", s.dctcp.ab_ecn);
    w.field("ab_tot", s.dctcp.ab_tot);
    w.end_object();
  }
  if (s.has_vegas) {
    w.key("vegas").begin_object();
    w.field("enabled", s.vegas.enabled != 0);
    w.field("rttcnt", s.vegas.rttcnt);
    w.field("rtt_us", s.vegas.rtt_us);
    w.field("min_rtt_us", s.vegas.minrtt_us);
    w.end_object();
  }
}

void write_kind_specific(JsonWriter& w, const SockInfo& s) {
  if (s.is_inet() && s.ifindex) {
    w.field("ifindex", s.ifindex);
    w.field("dev", if_name(s.ifindex));
  }
  if (s.kind == SockKind::raw) w.field("protocol", s.raw_protocol);
  if (s.is_packet()) {
    w.field("packet_protocol", s.packet_protocol);
    w.field("ifindex", s.ifindex);
    if (s.ifindex) w.field("dev", if_name(s.ifindex));
  }
  if (s.is_netlink()) {
    w.field("netlink_protocol", s.netlink_protocol);
    w.field("portid", s.netlink_portid);
    if (s.netlink_state == 1) {  // NETLINK_CONNECTED
      w.field("dst_portid", s.netlink_dst_portid);
      w.field("dst_group", s.netlink_dst_group);
    }
    if (s.has_netlink_groups) w.field("groups", s.netlink_groups);
  }
  if (s.is_unix()) {
    w.field("peer_inode", s.unix_peer_inode);
    if (s.has_unix_vfs) {
      // "major:minor" of the kernel's dev_t (MAJOR << 20 | MINOR,
      // include/linux/kdev_t.h), as /proc/self/mountinfo spells devices.
      w.field("vfs_inode", s.unix_vfs_inode);
      w.field("vfs_dev", std::to_string(s.unix_vfs_dev >> 20) + ":" +
                             std::to_string(s.unix_vfs_dev & 0xfffff));
    }
  }
}

void write_socket_options(JsonWriter& w, const SockInfo& s) {
  if (s.has_v6only) w.field("v6only", s.v6only);
  if (s.has_shutdown) w.field("shutdown", shutdown_text(s.shutdown));
  if (s.has_mark) w.field("mark", s.mark);
  if (s.has_tos) w.field("tos", s.tos);
  if (s.has_tclass) w.field("tclass", s.tclass);
  if (s.has_class_id) w.field("class_id", s.class_id);
  if (s.has_cgroup) {
    w.field("cgroup_id", s.cgroup_id);
    if (const std::string& path = cgroup_text_of_last(s.cgroup_id);
        !path.starts_with("unreachable:"))
      w.field("cgroup", path);
  }
}

// The JSON names carry the process's whole comm, not ss's text cut at the
// first ')' (users_text): they have no ss counterpart to match.
void write_users(JsonWriter& w, std::span<const sys::SocketUser> users) {
  if (users.empty()) return;
  w.field("pid", users.front().pid);
  w.field("comm", users.front().comm);
  w.key("users").begin_array();
  for (const sys::SocketUser& u : users) {
    w.begin_object();
    w.field("comm", u.comm);
    w.field("pid", u.pid);
    w.field("fd", u.fd);
    w.end_object();
  }
  w.end_array();
}

}  // namespace

void write_sock_fields(JsonWriter& w, const SockInfo& s, std::span<const sys::SocketUser> users) {
  w.field("netns", s.netns);
  w.field("cookie", s.cookie);
  w.field("family", family_name(s));
  w.field("proto", proto_name(s.kind));
  w.field("netid", netid_name(s.kind));
  // Packet sockets have no state of their own; ss shows them UNCONN.
  w.field("state", state_name(s.is_packet() ? uint8_t{diag::kClose} : s.state));
  w.key("laddr");
  write_json_addr(w, s, true);
  // Unix: the port columns of ss are the inode and the peer's inode;
  // packet: the interface the socket is bound to.
  if (s.is_unix()) {
    w.field("lport", s.inode);
    w.key("raddr");
    write_json_addr(w, s, false);
    w.field("rport", s.unix_peer_inode);
  } else if (s.is_packet()) {
    w.field("lport", s.ifindex);
    w.key("raddr");
    write_json_addr(w, s, false);
    w.field("rport", 0);
  } else if (s.is_netlink()) {
    // ss's columns: protocol:portid, and group:portid of a connected peer.
    w.field("lport", s.netlink_portid);
    w.key("raddr");
    write_json_addr(w, s, false);
    w.field("rport", s.netlink_state == 1 ? s.netlink_dst_portid : 0);
  } else {
    w.field("lport", s.local.port);
    w.key("raddr");
    write_json_addr(w, s, false);
    w.field("rport", s.remote.port);
  }
  w.field("recv_q", s.recv_q);
  w.field("send_q", s.send_q);

  // Minisockets carry no owner: the kernel reports uid 0 and inode 0.
  if (!s.is_minisocket()) {
    // Neither the unix nor the netlink dump carries the owner's uid.
    if (!s.is_unix() && !s.is_netlink()) w.field("uid", s.uid);
    w.field("inode", s.inode);
  }
  write_kind_specific(w, s);
  write_socket_options(w, s);
  if (s.timer) write_timer(w, s);
  if (s.has_skmem) write_skmem(w, s);
  if (s.has_meminfo && !s.has_skmem) write_meminfo(w, s);
  if (!s.cong.empty()) w.field("cong", s.cong);
  if (!s.ulp.empty()) w.field("ulp", s.ulp);
  if (s.has_tcp_info) write_tcp_info(w, s);
  write_cong_details(w, s);
  write_users(w, users);
}

}  // namespace sstrace::output

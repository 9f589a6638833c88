// ss's text output, column for column. ss (misc/ss.c, iproute2 6.1) buffers
// every field of every row, then sizes each column to its longest field and
// prints; this file reproduces that layout, quirks included, so that its
// output is byte-for-byte what ss prints for the same sockets:
//
//  - Not on a terminal, a column is as wide as its longest field plus its
//    one-space delimiter; fields are padded with blanks (so lines end in
//    blanks), the address columns right-aligned, the others left-aligned.
//  - On a terminal, the spare screen width is spread over the columns.
//  - The last column ("Process") carries users:, timer:, the -e details and,
//    after "\n\t", the -m/-i line, all as one field, and that field's length
//    counts towards the column's width: one long -i line pads every row.
//  - ss measures a row's last field only when the next row starts, so the
//    final row never widens the last column.
//  - ss buffers rows in 1 MiB chunks and, once it holds five, prints what it
//    has and starts over with the widths measured so far: long outputs
//    change alignment every few thousand rows. ChunkModel mirrors the byte
//    accounting of ss's buffer to break at the same rows.
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <array>
#include <climits>
#include <cstdio>
#include <string>
#include <vector>

#include "output/append_number.h"
#include "output/format.h"
#include "output/snapshot_writer.h"

namespace sstrace::output {

namespace {

using diag::SockInfo;
using diag::SockKind;

// ss's columns, in order. The Process header sits over the column that
// holds every detail; ss's last column (headerless, always empty) is left
// out here: it prints nothing.
enum Column : int { kNetid, kState, kRecvQ, kSendQ, kAddr, kServ, kRAddr, kRServ, kExt, kColumns };

enum class Align { left, right };

struct ColumnSpec {
  Align align;
  const char* header;
  const char* delim;  // printed before the field unless it starts the line
};

constexpr ColumnSpec kSpecs[kColumns] = {
    {Align::left, "Netid", ""},
    {Align::left, "State", " "},
    {Align::left, "Recv-Q", " "},
    {Align::left, "Send-Q", " "},
    {Align::right, "Local Address:", " "},
    {Align::left, "Port", ""},
    {Align::right, "Peer Address:", " "},
    {Align::left, "Port", ""},
    {Align::left, "Process", ""},
};

using Row = std::array<std::string, kColumns>;

// The byte accounting of ss's output buffer (struct buf_chunk/buf_token):
// 1 MiB chunks holding tokens of a 16-bit length plus the text, aligned to 2
// bytes; a token that does not fit moves whole to a new chunk.
class ChunkModel {
 public:
  static constexpr size_t kChunkData = 1024 * 1024 - 16;  // minus next/end pointers
  static constexpr int kMaxChunks = 5;

  // Text of `len` bytes becomes the current token's content.
  void put(size_t len) {
    if (!started_) start_chunk();
    if (len < kChunkData - used_ || token_ == 0) {
      used_ += std::min(len, kChunkData - used_);
      return;
    }
    start_chunk();
    used_ += len;
  }
  // The current token is complete; the next one starts after it.
  void flush(size_t len) {
    const size_t pad = len % 2;
    if (kChunkData - used_ - pad < 2) {
      used_ += pad;
      start_chunk();
      return;
    }
    token_ += 2 + len + pad;
    used_ = token_ + 2;
  }
  bool full() const { return chunks_ >= kMaxChunks; }
  void reset() { *this = ChunkModel{}; }

 private:
  void start_chunk() {
    started_ = true;
    ++chunks_;
    token_ = 0;
    used_ = 2;
  }

  bool started_ = false;
  int chunks_ = 0;
  size_t token_ = 0;  // offset of the current token in its chunk
  size_t used_ = 0;   // bytes used in the current chunk
};

// Rows in, ss's text out.
class Layout {
 public:
  Layout(std::FILE* out, const SnapshotFormat& fmt) : out_(out) {
    enabled_.fill(true);
    enabled_[kNetid] = fmt.show_netid;
    enabled_[kState] = fmt.show_state;
    screen_width_ = screen_width(out);
    if (fmt.header) add_header();
  }

  void add(Row&& row) {
    settle_previous();
    for (int c = 0; c < kExt; ++c) {
      if (!enabled_[c]) continue;
      chunks_.put(row[c].size());
      chunks_.flush(row[c].size());
      measure(c, row[c].size());
    }
    chunks_.put(row[kExt].size());
    rows_.push_back(std::move(row));
    pending_ = Pending::ext_and_last;
  }

  void finish() {
    render();
    pending_ = Pending::none;
  }

 private:
  // What ss has not flushed yet when a row ends: the Process field (only
  // for data rows: the header flushes it at once) and the empty last field.
  enum class Pending { none, last, ext_and_last };

  void add_header() {
    Row row;
    for (int c = 0; c < kColumns; ++c) {
      if (!enabled_[c]) continue;
      row[c] = kSpecs[c].header;
      chunks_.put(row[c].size());
      chunks_.flush(row[c].size());
      measure(c, row[c].size());
    }
    rows_.push_back(std::move(row));
    pending_ = Pending::last;
  }

  // ss moves on to the next row by flushing the fields still open; at the
  // last field it first checks whether its buffer is full and prints.
  void settle_previous() {
    if (pending_ == Pending::ext_and_last) {
      const size_t len = rows_.back()[kExt].size();
      chunks_.flush(len);
      measure(kExt, len);
    }
    if (pending_ != Pending::none) {
      if (chunks_.full())
        render();
      else
        chunks_.flush(0);
    }
    pending_ = Pending::none;
  }

  void measure(int c, size_t len) {
    if (len > max_len_[c]) max_len_[c] = len;
  }

  static int screen_width(std::FILE* out) {
    const int fd = fileno(out);
    winsize w{};
    if (fd >= 0 && isatty(fd) && ioctl(fd, TIOCGWINSZ, &w) != -1 && w.ws_col > 0) return w.ws_col;
    return -1;
  }

  void compute_widths() {
    const int screen = screen_width_ < 0 ? INT_MAX : screen_width_;
    bool first = true;
    for (int c = 0; c < kColumns; ++c) {
      width_[c] = 0;
      if (!enabled_[c]) continue;
      int w = static_cast<int>(max_len_[c]);
      if (!first && w) w += static_cast<int>(std::char_traits<char>::length(kSpecs[c].delim));
      width_[c] = std::min(w, screen);
      if (width_[c]) first = false;
    }
    if (screen_width_ >= 0) spread_to_screen(screen_width_);
  }

  // On a terminal ss breaks the columns into lines that fit the screen and
  // gives each line's spare room to its columns, the leftover blanks to the
  // rightmost ones.
  void spread_to_screen(int screen) {
    int len = 0, linecols = 0, eol = -1;
    for (int c = 0; c < kColumns; ++c) {
      if (!width_[c]) continue;
      ++linecols;
      len += width_[c];
      bool last = true;
      for (int k = c + 1; k < kColumns; ++k)
        if (width_[k]) last = false;
      if (!last && len < screen) continue;
      if (len != screen) {
        if (len > screen) {
          len -= width_[c];
          --c;
          --linecols;
        }
        const int pad = screen - len;
        int spacing = linecols ? pad / linecols : 0;
        int rem = linecols ? pad % linecols : 0;
        for (int k = c; k > eol; --k) {
          if (!width_[k]) continue;
          width_[k] += spacing;
          if (rem) {
            ++width_[k];
            --rem;
          }
        }
      }
      eol = c;
      len = 0;
      linecols = 0;
    }
  }

  void render() {
    if (rows_.empty()) return;
    compute_widths();
    std::string buf;
    for (const Row& row : rows_) {
      render_row(buf, row);
      if (buf.size() > 1 << 16) {
        std::fwrite(buf.data(), 1, buf.size(), out_);
        buf.clear();
      }
    }
    std::fwrite(buf.data(), 1, buf.size(), out_);
    rows_.clear();
    chunks_.reset();
  }

  void render_row(std::string& buf, const Row& row) const {
    bool line_started = false;
    for (int c = 0; c < kColumns; ++c) {
      if (!enabled_[c]) continue;
      const std::string& text = row[c];
      int printed = 0;
      if (line_started) {
        buf += kSpecs[c].delim;
        printed = static_cast<int>(std::char_traits<char>::length(kSpecs[c].delim));
      }
      line_started = true;
      const int len = static_cast<int>(text.size());
      if (width_[c] && kSpecs[c].align == Align::right) {
        const int s = width_[c] - len - printed;
        if (s > 0) {
          buf.append(s, ' ');
          printed += s;
        }
      }
      buf += text;
      printed += len;
      if (width_[c] && kSpecs[c].align == Align::left) {
        const int s = width_[c] - printed;
        if (s > 0) buf.append(s, ' ');
      }
    }
    buf += '\n';
  }

  std::FILE* out_;
  std::array<bool, kColumns> enabled_{};
  std::array<size_t, kColumns> max_len_{};
  std::array<int, kColumns> width_{};
  int screen_width_ = -1;
  std::vector<Row> rows_;
  ChunkModel chunks_;
  Pending pending_ = Pending::none;
};

class TextWriter final : public SnapshotWriter {
 public:
  TextWriter(std::FILE* out, const SnapshotFormat& fmt) : fmt_(fmt), layout_(out, fmt) {}

  void sock(const SockInfo& s, const sys::SocketOwners* owners) override {
    Row row;
    row[kNetid] = netid_name(s.kind);
    // ss shows every packet socket as UNCONN.
    row[kState] = state_name(s.is_packet() ? uint8_t{diag::kClose} : s.state);
    row[kRecvQ] = queue(s.recv_q);
    row[kSendQ] = queue(s.send_q);
    std::string& ext = row[kExt];
    // An -i line is about 300 characters: one allocation instead of the
    // five a string growing from empty needs.
    if (fmt_.info) ext.reserve(kInfoLineReserve);
    // ss's netlink rows name no process, even with -p (netlink_show_one).
    if (fmt_.processes && owners && s.inode && !s.is_netlink()) {
      if (std::string users = users_text(owners->users(s.inode)); !users.empty())
        ext += " " + users;
    }
    if (s.is_unix())
      unix_fields(s, row);
    else if (s.is_packet())
      packet_fields(s, row);
    else if (s.is_netlink())
      netlink_fields(s, row);
    else
      inet_fields(s, row);
    layout_.add(std::move(row));
  }

  void finish() override { layout_.finish(); }

 private:
  static constexpr size_t kInfoLineReserve = 384;

  // ss prints the queues with "%-6d": padded inside the field, and negative
  // past 2^31 (it keeps them in an int).
  static std::string queue(uint32_t q) {
    std::string out;
    append_int(out, static_cast<int32_t>(q));
    if (out.size() < 6) out.append(6 - out.size(), ' ');
    return out;
  }

  void inet_fields(const SockInfo& s, Row& row) const {
    const bool v6only = s.has_v6only && s.v6only;
    row[kAddr] = ss_host_column(s.family, s.local.addr, v6only, fmt_.resolve);
    if (s.ifindex) row[kAddr] += "%" + if_name(s.ifindex);
    row[kAddr] += ':';
    row[kServ] = port_text(s, s.local.port);
    row[kRAddr] = ss_host_column(s.family, s.remote.addr, v6only, fmt_.resolve) + ":";
    row[kRServ] = port_text(s, s.remote.port);

    // A RAW socket without a cookie came from /proc/net/raw (no raw_diag in
    // the kernel), where ss has nothing but the columns to show.
    if (s.kind == SockKind::raw && s.cookie == 0) return;

    std::string& ext = row[kExt];
    if ((fmt_.timer || fmt_.extended) && s.timer)  // ss's -e implies -o
      ext += " " + timer_text(s.timer, s.expires_ms, s.retrans);
    if (fmt_.extended) {
      ext += identity_text(s);
      if (s.family == AF_INET6 && s.has_v6only) ext += s.v6only ? " v6only:1" : " v6only:0";
      if (s.has_shutdown) ext += " " + shutdown_text(s.shutdown);
    }
    // ss runs its tcp_info printer for every inet socket but UDP when -i is
    // given (and RAW ones have nothing to print), so -i alone still starts
    // the second line.
    const bool udp =
        s.kind == SockKind::udp || (s.kind == SockKind::raw && s.raw_protocol == IPPROTO_UDP);
    if (fmt_.memory || (fmt_.info && !udp)) {
      if (!fmt_.oneline) ext += "\n\t";
      if (fmt_.memory) append_skmem_text(ext, s);
      if (fmt_.info) append_tcp_info_text(ext, s, fmt_.timer || fmt_.extended, fmt_.numeric);
      // INET_DIAG_ULP_INFO comes unasked (to CAP_NET_ADMIN); ss names it
      // with -m or -i. Its TLS details are not in SockInfo.
      if (!s.ulp.empty()) ext += " tcp-ulp-" + s.ulp;
    }
  }

  std::string port_text(const SockInfo& s, uint16_t port) const {
    if (s.kind == SockKind::raw) return port ? ip_proto_text(port, fmt_.numeric) : "*";
    return service_text(port, s.kind == SockKind::udp ? "udp" : "tcp", fmt_.numeric);
  }

  // ss -e's uid:, ino:, sk:, fwmark: and cgroup: (uid and mark only when
  // not 0).
  static std::string identity_text(const SockInfo& s) {
    std::string out;
    if (s.uid) {
      out += " uid:";
      append_int(out, s.uid);
    }
    out += " ino:";
    append_int(out, static_cast<unsigned long long>(s.inode));
    out += " sk:";
    append_hex(out, static_cast<unsigned long long>(s.cookie));
    if (s.has_mark && s.mark) {
      out += " fwmark:0x";
      append_hex(out, s.mark);
    }
    if (s.has_cgroup && s.cgroup_id) out += " cgroup:" + cgroup_text(s.cgroup_id);
    return out;
  }

  // ss's unix rows: the path (or "*") and the inode in the local columns,
  // "*" and the peer's inode in the remote ones; -m and -e on the same line.
  void unix_fields(const SockInfo& s, Row& row) const {
    row[kAddr] = (s.unix_path.empty() ? std::string("*") : s.unix_path) + " ";
    // ss keeps the inodes in an int.
    row[kServ] = std::to_string(static_cast<int32_t>(s.inode));
    row[kRAddr] = "* ";
    row[kRServ] = std::to_string(static_cast<int32_t>(s.unix_peer_inode));
    std::string& ext = row[kExt];
    if (fmt_.memory) ext += skmem_text(s);
    if (fmt_.extended) {
      if (s.has_shutdown) ext += " " + shutdown_text(s.shutdown);
      if (s.has_unix_vfs) {
        char buf[80];
        const dev_t dev = s.unix_vfs_dev;
        std::snprintf(buf, sizeof buf, " ino:%u dev:%u/%u", static_cast<uint32_t>(s.unix_vfs_inode),
                      major(dev), minor(dev));
        ext += buf;
      }
      // The kernel lists a listener's not yet accepted peers (UNIX_DIAG_ICONS)
      // and ss prints " peers:" and their inodes; SockInfo does not carry
      // the list, so only an empty one is shown.
      if (s.state == diag::kListen) ext += " peers:";
    }
  }

  // ss's packet rows: ethertype and interface as address and port, "*" as
  // the peer; -e's identity and -m on the same line.
  void packet_fields(const SockInfo& s, Row& row) const {
    row[kAddr] = ll_proto_text(s.packet_protocol, fmt_.numeric) + ":";
    row[kServ] = s.ifindex ? if_name(s.ifindex) : "*";
    row[kRAddr] = "*";
    row[kRServ] = "";
    std::string& ext = row[kExt];
    if (fmt_.extended) ext += identity_text(s);
    if (fmt_.memory) ext += skmem_text(s);
  }

  // ss's netlink rows (ss.c netlink_show_one): "proto:owner" as the local
  // address and port, the group and portid of a connected peer or "*";
  // -e's sk=0 cb=0 (the /proc/net/netlink columns, 0 from a dump) and
  // groups; -m's skmem after a tab, on the same line.
  void netlink_fields(const SockInfo& s, Row& row) const {
    row[kAddr] = nl_proto_text(s.netlink_protocol, fmt_.numeric) + ":";
    row[kServ] = netlink_owner_text(s.netlink_portid, fmt_.numeric);
    if (s.netlink_state == 1) {  // NETLINK_CONNECTED
      // ss keeps both in an int.
      row[kRAddr] = std::to_string(static_cast<int32_t>(s.netlink_dst_group)) + ":";
      row[kRServ] = std::to_string(static_cast<int32_t>(s.netlink_dst_portid));
    } else {
      row[kRAddr] = "*";
      row[kRServ] = "";
    }
    std::string& ext = row[kExt];
    if (fmt_.extended) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " sk=0 cb=0 groups=0x%08x",
                    static_cast<uint32_t>(s.netlink_groups));
      ext += buf;
    }
    if (fmt_.memory) {
      ext += '\t';
      ext += skmem_text(s);
    }
  }

  SnapshotFormat fmt_;
  Layout layout_;
};

}  // namespace

std::unique_ptr<SnapshotWriter> make_text_writer(std::FILE* out, const SnapshotFormat& fmt) {
  return std::make_unique<TextWriter>(out, fmt);
}

}  // namespace sstrace::output

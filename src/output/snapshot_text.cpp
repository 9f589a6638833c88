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
//
// The rows wait in one growing text buffer, each row a fixed record of its
// cells' end offsets (RowStore), rather than as nine strings each: the
// writer appends straight into the buffer, and printing copies each cell
// once, padded, into large writes.
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "output/append_number.h"
#include "output/cgroup_text.h"
#include "output/endpoint_text.h"
#include "output/names.h"
#include "output/packet_text.h"
#include "output/skmem_text.h"
#include "output/snapshot_writer.h"
#include "output/tcp_info_text.h"
#include "output/timer_text.h"
#include "output/ulp_text.h"
#include "output/users_text.h"

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
  std::string_view header;
  std::string_view delim;  // printed before the field unless it starts the line
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

// Every held row's text, in one buffer; a row is where each of its cells
// ends. Rows are appended cell by cell, in column order. ss prints and
// forgets its rows every five 1 MiB chunks (ChunkModel), so the buffer
// stays within a few MiB and 32-bit offsets are plenty.
class RowStore {
 public:
  // The buffer the open row's cells are appended to.
  std::string& text() { return text_; }
  void end_cell(Column c) { open_.end[c] = static_cast<uint32_t>(text_.size()); }
  void end_row() { rows_.push_back(open_); }

  size_t rows() const { return rows_.size(); }
  std::string_view cell(size_t row, int c) const {
    const uint32_t begin = c > 0 ? rows_[row].end[c - 1] : row_begin(row);
    return std::string_view(text_).substr(begin, rows_[row].end[c] - begin);
  }
  size_t row_size(size_t row) const { return rows_[row].end[kColumns - 1] - row_begin(row); }
  void clear() {
    text_.clear();
    rows_.clear();
  }

 private:
  struct Cells {
    std::array<uint32_t, kColumns> end;
  };
  uint32_t row_begin(size_t row) const { return row ? rows_[row - 1].end[kColumns - 1] : 0; }

  std::string text_;
  std::vector<Cells> rows_;
  Cells open_{};
};

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

  // Starts a row: settles the previous one (ss may print everything held
  // here) and returns the buffer to append the new row's cells to, each
  // closed by end_cell() in column order, the last by end_row().
  std::string& begin_row() {
    settle_previous();
    return rows_.text();
  }
  void end_cell(Column c) { rows_.end_cell(c); }
  void end_row() {
    rows_.end_cell(kExt);
    rows_.end_row();
    const size_t row = rows_.rows() - 1;
    for (int c = 0; c < kExt; ++c) {
      if (!enabled_[c]) continue;
      const size_t len = rows_.cell(row, c).size();
      chunks_.put(len);
      chunks_.flush(len);
      measure(c, len);
    }
    chunks_.put(rows_.cell(row, kExt).size());
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
    std::string& text = rows_.text();
    for (int c = 0; c < kColumns; ++c) {
      if (enabled_[c]) {
        text += kSpecs[c].header;
        const size_t len = kSpecs[c].header.size();
        chunks_.put(len);
        chunks_.flush(len);
        measure(c, len);
      }
      rows_.end_cell(static_cast<Column>(c));
    }
    rows_.end_row();
    pending_ = Pending::last;
  }

  // ss moves on to the next row by flushing the fields still open; at the
  // last field it first checks whether its buffer is full and prints.
  void settle_previous() {
    if (pending_ == Pending::ext_and_last) {
      const size_t len = rows_.cell(rows_.rows() - 1, kExt).size();
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
      if (!first && w) w += static_cast<int>(kSpecs[c].delim.size());
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
    if (rows_.rows() == 0) return;
    compute_widths();
    size_t most_padding = 1;  // and the newline
    for (int c = 0; c < kColumns; ++c)
      most_padding += static_cast<size_t>(width_[c]) + kSpecs[c].delim.size();
    for (size_t row = 0; row < rows_.rows(); ++row) {
      const size_t most = rows_.row_size(row) + most_padding;
      if (printed_.size() - used_ < most) flush_printed(most);
      used_ += render_row(printed_.data() + used_, row);
    }
    flush_printed(0);
    rows_.clear();
    chunks_.reset();
  }

  // Writes what is printed so far, and makes room for `room` more bytes.
  void flush_printed(size_t room) {
    std::fwrite(printed_.data(), 1, used_, out_);
    used_ = 0;
    if (printed_.size() < room) printed_.resize(std::max(room, kPrintBuffer));
  }

  // Row `row`, padded to the column widths, at `out`; returns its length.
  size_t render_row(char* out, size_t row) const {
    char* p = out;
    bool line_started = false;
    for (int c = 0; c < kColumns; ++c) {
      if (!enabled_[c]) continue;
      const std::string_view text = rows_.cell(row, c);
      int printed = 0;
      if (line_started) {
        const size_t n = kSpecs[c].delim.size();
        p = std::copy_n(kSpecs[c].delim.data(), n, p);
        printed = static_cast<int>(n);
      }
      line_started = true;
      const int len = static_cast<int>(text.size());
      if (width_[c] && kSpecs[c].align == Align::right) {
        const int s = width_[c] - len - printed;
        if (s > 0) {
          p = std::fill_n(p, s, ' ');
          printed += s;
        }
      }
      p = std::copy_n(text.data(), text.size(), p);
      printed += len;
      if (width_[c] && kSpecs[c].align == Align::left) {
        const int s = width_[c] - printed;
        if (s > 0) p = std::fill_n(p, s, ' ');
      }
    }
    *p++ = '\n';
    return static_cast<size_t>(p - out);
  }

  // Printed rows are written in pieces of about this size.
  static constexpr size_t kPrintBuffer = 1 << 20;

  std::FILE* out_;
  std::array<bool, kColumns> enabled_{};
  std::array<size_t, kColumns> max_len_{};
  std::array<int, kColumns> width_{};
  int screen_width_ = -1;
  RowStore rows_;
  std::vector<char> printed_;
  size_t used_ = 0;  // bytes of printed_ not written yet
  ChunkModel chunks_;
  Pending pending_ = Pending::none;
};

class TextWriter final : public SnapshotWriter {
 public:
  TextWriter(std::FILE* out, const SnapshotFormat& fmt) : fmt_(fmt), layout_(out, fmt) {}

  // The row's cells go straight into the layout's buffer, in column order.
  void sock(const SockInfo& s, const sys::SocketOwners* owners) override {
    std::string& t = layout_.begin_row();
    t += netid_name(s.kind);
    layout_.end_cell(kNetid);
    // ss shows every packet socket as UNCONN.
    t += state_name(s.is_packet() ? uint8_t{diag::kClose} : s.state);
    layout_.end_cell(kState);
    append_queue(t, s.recv_q);
    layout_.end_cell(kRecvQ);
    append_queue(t, s.send_q);
    layout_.end_cell(kSendQ);
    if (s.is_unix())
      unix_columns(s, t);
    else if (s.is_packet())
      packet_columns(s, t);
    else if (s.is_netlink())
      netlink_columns(s, t);
    else
      inet_columns(s, t);
    // The Process field: users first, then what each kind adds.
    // ss's netlink rows name no process, even with -p (netlink_show_one).
    if (fmt_.processes && owners && s.inode && !s.is_netlink()) {
      if (std::string users = users_text(owners->users(s.inode)); !users.empty()) {
        t += ' ';
        t += users;
      }
    }
    if (s.is_unix())
      unix_details(s, t);
    else if (s.is_packet())
      packet_details(s, t);
    else if (s.is_netlink())
      netlink_details(s, t);
    else
      inet_details(s, t);
    layout_.end_row();
  }

  void finish() override { layout_.finish(); }

 private:
  // ss prints the queues with "%-6d": padded inside the field, and negative
  // past 2^31 (it keeps them in an int).
  static void append_queue(std::string& t, uint32_t q) {
    const size_t start = t.size();
    append_int(t, static_cast<int32_t>(q));
    const size_t len = t.size() - start;
    if (len < 6) t.append(6 - len, ' ');
  }

  void inet_columns(const SockInfo& s, std::string& t) {
    const bool v6only = s.has_v6only && s.v6only;
    append_ss_host_column(t, s.family, s.local.addr, v6only, fmt_.resolve);
    if (s.ifindex) {
      t += '%';
      t += if_name(s.ifindex);
    }
    t += ':';
    layout_.end_cell(kAddr);
    append_port(t, s, s.local.port);
    layout_.end_cell(kServ);
    append_ss_host_column(t, s.family, s.remote.addr, v6only, fmt_.resolve);
    t += ':';
    layout_.end_cell(kRAddr);
    append_port(t, s, s.remote.port);
    layout_.end_cell(kRServ);
  }

  void inet_details(const SockInfo& s, std::string& t) const {
    // A socket read from /proc/net (no raw_diag in the kernel, or ss's
    // PROC_ROOT / PROC_NET_* overrides) has nothing but the columns to show
    // (ss shows a /proc/net/tcp line's timer, uid, inode and rto with
    // -o/-e/-i; sstrace does not read those fields).
    if (s.from_proc) return;

    if ((fmt_.timer || fmt_.extended) && s.timer) {  // ss's -e implies -o
      t += ' ';
      t += timer_text(s.timer, s.expires_ms, s.retrans);
    }
    if (fmt_.extended) {
      append_identity(t, s);
      if (s.family == AF_INET6 && s.has_v6only) t += s.v6only ? " v6only:1" : " v6only:0";
      append_shutdown(t, s);
    }
    // ss runs its tcp_info printer for every inet socket but UDP when -i is
    // given (and RAW ones have nothing to print), so -i alone still starts
    // the second line.
    const bool udp =
        s.kind == SockKind::udp || (s.kind == SockKind::raw && s.raw_protocol == IPPROTO_UDP);
    if (fmt_.memory || (fmt_.info && !udp)) {
      if (!fmt_.oneline) t += "\n\t";
      if (fmt_.memory) append_skmem_text(t, s);
      if (fmt_.info) append_tcp_info_text(t, s, fmt_.timer || fmt_.extended, fmt_.numeric);
      // INET_DIAG_MD5SIG and INET_DIAG_ULP_INFO come with INET_DIAG_INFO
      // (MD5 keys to CAP_NET_ADMIN only); ss prints whatever came with -m
      // or -i.
      append_md5keys_text(t, s, fmt_.resolve);
      append_ulp_text(t, s);
    }
  }

  void append_port(std::string& t, const SockInfo& s, uint16_t port) const {
    if (s.kind == SockKind::raw)
      t += port ? ip_proto_text(port, fmt_.numeric) : "*";
    else
      append_service_text(t, port, s.kind == SockKind::udp ? "udp" : "tcp", fmt_.numeric);
  }

  static void append_shutdown(std::string& t, const SockInfo& s) {
    if (!s.has_shutdown) return;
    t += ' ';
    t += shutdown_text(s.shutdown);
  }

  // ss -e's uid:, ino:, sk:, fwmark: and cgroup: (uid and mark only when
  // not 0).
  static void append_identity(std::string& t, const SockInfo& s) {
    if (s.uid) {
      t += " uid:";
      append_int(t, s.uid);
    }
    t += " ino:";
    append_int(t, static_cast<unsigned long long>(s.inode));
    t += " sk:";
    append_hex(t, static_cast<unsigned long long>(s.cookie));
    if (s.has_mark && s.mark) {
      t += " fwmark:0x";
      append_hex(t, s.mark);
    }
    if (s.has_cgroup && s.cgroup_id) {
      t += " cgroup:";
      t += cgroup_text_of_last(s.cgroup_id);
    }
  }

  // ss's unix rows: the path (or "*") and the inode in the local columns,
  // "*" and the peer's inode in the remote ones; -m and -e on the same line.
  void unix_columns(const SockInfo& s, std::string& t) {
    t += s.unix_path.empty() ? std::string_view("*") : std::string_view(s.unix_path);
    t += ' ';
    layout_.end_cell(kAddr);
    // ss keeps the inodes in an int.
    append_int(t, static_cast<int32_t>(s.inode));
    layout_.end_cell(kServ);
    t += "* ";
    layout_.end_cell(kRAddr);
    append_int(t, static_cast<int32_t>(s.unix_peer_inode));
    layout_.end_cell(kRServ);
  }

  void unix_details(const SockInfo& s, std::string& t) const {
    if (fmt_.memory) append_skmem_text(t, s);
    if (fmt_.extended) {
      append_shutdown(t, s);
      if (s.has_unix_vfs) {
        char buf[80];
        const dev_t dev = s.unix_vfs_dev;
        std::snprintf(buf, sizeof buf, " ino:%u dev:%u/%u", static_cast<uint32_t>(s.unix_vfs_inode),
                      major(dev), minor(dev));
        t += buf;
      }
      // A listener's not yet accepted connections, by their peers' inodes
      // (UNIX_DIAG_ICONS; ss.c unix_show_sock prints them as %u).
      if (s.has_unix_pending) {
        t += " peers:";
        for (uint32_t peer : s.unix_pending_peers) {
          t += ' ';
          append_int(t, peer);
        }
      }
    }
  }

  // ss's packet rows: ethertype and interface as address and port, "*" as
  // the peer; -e's identity and -m on the same line.
  void packet_columns(const SockInfo& s, std::string& t) {
    t += ll_proto_text(s.packet_protocol, fmt_.numeric);
    t += ':';
    layout_.end_cell(kAddr);
    t += s.ifindex ? if_name(s.ifindex) : "*";
    layout_.end_cell(kServ);
    t += '*';
    layout_.end_cell(kRAddr);
    layout_.end_cell(kRServ);
  }

  void packet_details(const SockInfo& s, std::string& t) const {
    if (fmt_.extended) {
      append_identity(t, s);
      append_packet_details_text(t, s, fmt_.oneline);
    }
    if (fmt_.memory) append_skmem_text(t, s);
  }

  // ss's netlink rows (ss.c netlink_show_one): "proto:owner" as the local
  // address and port, the group and portid of a connected peer or "*";
  // -e's sk=0 cb=0 (the /proc/net/netlink columns, 0 from a dump) and
  // groups; -m's skmem after a tab, on the same line.
  void netlink_columns(const SockInfo& s, std::string& t) {
    t += nl_proto_text(s.netlink_protocol, fmt_.numeric);
    t += ':';
    layout_.end_cell(kAddr);
    t += netlink_owner_text(s.netlink_portid, fmt_.numeric);
    layout_.end_cell(kServ);
    if (s.netlink_state == 1) {  // NETLINK_CONNECTED
      // ss keeps both in an int.
      append_int(t, static_cast<int32_t>(s.netlink_dst_group));
      t += ':';
      layout_.end_cell(kRAddr);
      append_int(t, static_cast<int32_t>(s.netlink_dst_portid));
    } else {
      t += '*';
      layout_.end_cell(kRAddr);
    }
    layout_.end_cell(kRServ);
  }

  void netlink_details(const SockInfo& s, std::string& t) const {
    if (fmt_.extended) {
      char buf[64];
      std::snprintf(buf, sizeof buf, " sk=0 cb=0 groups=0x%08x",
                    static_cast<uint32_t>(s.netlink_groups));
      t += buf;
    }
    if (fmt_.memory) {
      t += '\t';
      append_skmem_text(t, s);
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

#include "diag/dump_file.h"

#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include <cerrno>
#include <vector>

#include "diag/parse.h"

namespace sstrace::diag {

namespace {

// The kernel's sock_diag replies are a few hundred bytes; a header claiming
// more than this is not one, and must not make us allocate it.
constexpr uint32_t kMaxMessage = 1u << 20;

Error file_error(const std::string& name, long offset, const std::string& what, int err = 0) {
  return Error{"TCPDIAG_FILE '" + name + "', byte " + std::to_string(offset) + ": " + what, err};
}

}  // namespace

Result<void> read_dump_file(std::FILE* in, const std::string& name, const SockCallback& on_sock) {
  std::vector<uint8_t> msg;
  SockInfo info;
  long offset = 0;
  bool ended = false;  // the last message read was an NLMSG_DONE
  for (;;) {
    msg.resize(sizeof(nlmsghdr));
    const size_t got = std::fread(msg.data(), 1, msg.size(), in);
    if (got == 0 && std::feof(in)) break;
    if (std::ferror(in)) return file_error(name, offset, "cannot read", errno ? errno : EIO);
    if (got != msg.size()) return file_error(name, offset, "cut short inside a message header");
    const NlHeader h = header_of(Bytes(msg.data(), msg.size()));
    if (h.len < sizeof(nlmsghdr) || h.len > kMaxMessage)
      return file_error(name, offset,
                        "not a sock_diag dump (a message of " + std::to_string(h.len) + " bytes)");
    // -D saves whole datagrams: each message padded to NLMSG_ALIGNTO.
    const size_t body = NLMSG_ALIGN(h.len) - sizeof(nlmsghdr);
    msg.resize(sizeof(nlmsghdr) + body);
    if (std::fread(msg.data() + sizeof(nlmsghdr), 1, body, in) != body) {
      if (std::ferror(in)) return file_error(name, offset, "cannot read", errno ? errno : EIO);
      return file_error(name, offset, "cut short inside a message");
    }
    const Bytes m(msg.data(), h.len);
    ended = h.type == NLMSG_DONE;
    if (h.type == NLMSG_ERROR) {
      auto err = parse_error_msg(m);
      if (!err) return file_error(name, offset, err.error().str());
      if (*err != 0)
        return file_error(name, offset, "the saved dump is the kernel's refusal", *err);
    } else if (h.type == SOCK_DIAG_BY_FAMILY) {
      if (auto parsed = parse_inet(m, SockKind::tcp, info); !parsed)
        return file_error(name, offset, parsed.error().str());
      info.from_file = true;
      on_sock(info);
    }
    offset += long(msg.size());
  }
  if (!ended)
    return file_error(name, offset, "ends before the dump's end (no NLMSG_DONE): cut short?");
  return {};
}

}  // namespace sstrace::diag

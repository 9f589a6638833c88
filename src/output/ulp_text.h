// What ss -i adds after the tcp_info fields of a TCP socket beyond the
// congestion control: the TCP-MD5 keys (" md5keys:...") and the upper layer
// protocol with its details (" tcp-ulp-tls version: 1.2 ...", " tcp-ulp-mptcp
// flags:Mec ..."), spelled as ss (misc/ss.c tcp_show_info(), iproute2 6.1)
// spells them.
#pragma once

#include <string>

#include "diag/sock_info.h"

namespace sstrace::output {

// " md5keys:ADDR/PREFIX=KEY,..." for a socket with keys, nothing otherwise.
// The key's bytes are escaped as ss escapes them: "\ooo" for anything not
// printable and for '\', ' ' and ','. With `resolve` (-r) the address is a
// host name where one is known.
//
// ss 6.1 writes the key itself with a bare printf while the rest of the row
// sits in its column buffer, so the key text lands at the very top of ss's
// output, before the header; here it stays where ss means it to be.
void append_md5keys_text(std::string& out, const diag::SockInfo& s, bool resolve);

// " tcp-ulp-NAME" and the TLS or MPTCP-subflow details, nothing when the
// socket has no upper layer protocol.
void append_ulp_text(std::string& out, const diag::SockInfo& s);

// The names ss and the JSON share: "1.2"/"1.3" for a TLS version, a cipher
// name for TLS_CIPHER_* ("" for one ss does not name), a TLS_CONF_* word
// ("none", "sw", "hw", "hw-record"; "" for an unknown one), and the letters
// of an MPTCP subflow's flags ("Mmc", ...).
std::string tls_version_name(uint16_t version);
std::string tls_cipher_name(uint16_t cipher);
std::string tls_conf_name(uint16_t conf);
std::string mptcp_subflow_flags_text(uint32_t flags);

}  // namespace sstrace::output

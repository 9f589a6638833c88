#include "output/ulp_text.h"

#include <linux/mptcp.h>
#include <linux/tls.h>

#include <cctype>
#include <cstdio>

#include "output/address_text.h"
#include "output/append_number.h"
#include "sys/netdb_names.h"

namespace sstrace::output {

namespace {

// lib/utils.c print_escape_buf(buf, len, " ,") in the C locale ss runs in.
void append_escaped_key(std::string& out, const diag::Md5Key& k) {
  for (size_t i = 0; i < k.keylen; i++) {
    const uint8_t c = k.key[i];
    const bool plain = c >= 0x20 && c < 0x7f && c != '\\' && c != ' ' && c != ',';
    if (plain) {
      out += static_cast<char>(c);
      continue;
    }
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\%03o", c);
    out += buf;
  }
}

// ss's format_host(): the host name with -r where one resolves, else the
// address.
void append_key_host(std::string& out, const diag::Md5Key& k, bool resolve) {
  if (resolve) {
    if (const std::string name = sys::host_name(k.family, k.addr); !name.empty()) {
      out += name;
      return;
    }
  }
  append_addr_text(out, k.family, k.addr);
}

void append_md5key(std::string& out, const diag::Md5Key& k, bool resolve) {
  append_key_host(out, k, resolve);
  out += '/';
  append_int(out, static_cast<unsigned>(k.prefixlen));
  out += '=';
  append_escaped_key(out, k);
}

// tcp_tls_version(): a number it does not know is "unknown(N)".
void append_tls_version(std::string& out, uint16_t version) {
  out += " version: ";
  if (std::string name = tls_version_name(version); !name.empty()) {
    out += name;
    return;
  }
  out += "unknown(";
  append_int(out, version);
  out += ')';
}

void append_tls_conf(std::string& out, const char* label, uint16_t conf) {
  out += ' ';
  out += label;
  out += ": ";
  if (std::string name = tls_conf_name(conf); !name.empty()) {
    out += name;
    return;
  }
  out += "unknown(";
  append_int(out, conf);
  out += ')';
}

void append_tls(std::string& out, const diag::TlsInfo& tls) {
  if (tls.version) append_tls_version(out, *tls.version);
  // ss names two ciphers and prints nothing for the others.
  if (tls.cipher) {
    if (std::string name = tls_cipher_name(*tls.cipher); !name.empty()) {
      out += " cipher: ";
      out += name;
    }
  }
  if (tls.rxconf) append_tls_conf(out, "rxconf", *tls.rxconf);
  if (tls.txconf) append_tls_conf(out, "txconf", *tls.txconf);
  if (tls.zc_ro_tx) out += " zc_ro_tx";
}

// mptcp_subflow_info(): the tokens print as "%04x" (at least four digits).
void append_token(std::string& out, uint32_t token, uint8_t id) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04x(id:%u)", token, static_cast<unsigned>(id));
  out += buf;
}

void append_mptcp_subflow(std::string& out, const diag::MptcpSubflowInfo& sf) {
  if (sf.flags && *sf.flags) {
    out += " flags:";
    out += mptcp_subflow_flags_text(*sf.flags);
  }
  if (sf.has_tokens()) {
    out += " token:";
    append_token(out, *sf.token_rem, *sf.id_rem);
    out += '/';
    append_token(out, *sf.token_loc, *sf.id_loc);
  }
  auto hex = [&](const char* label, auto v) {
    out += label;
    append_hex(out, v);
  };
  if (sf.map_seq) hex(" seq:", *sf.map_seq);
  if (sf.map_sfseq) hex(" sfseq:", *sf.map_sfseq);
  if (sf.ssn_offset) hex(" ssnoff:", *sf.ssn_offset);
  if (sf.map_datalen) hex(" maplen:", *sf.map_datalen);
}

}  // namespace

std::string tls_version_name(uint16_t version) {
  switch (version) {
    case TLS_1_2_VERSION:
      return "1.2";
    case TLS_1_3_VERSION:
      return "1.3";
    default:
      return "";
  }
}

std::string tls_cipher_name(uint16_t cipher) {
  switch (cipher) {
    case TLS_CIPHER_AES_GCM_128:
      return "aes-gcm-128";
    case TLS_CIPHER_AES_GCM_256:
      return "aes-gcm-256";
    default:
      return "";
  }
}

std::string tls_conf_name(uint16_t conf) {
  switch (conf) {
    case TLS_CONF_BASE:
      return "none";
    case TLS_CONF_SW:
      return "sw";
    case TLS_CONF_HW:
      return "hw";
    case TLS_CONF_HW_RECORD:
      return "hw-record";
    default:
      return "";
  }
}

std::string mptcp_subflow_flags_text(uint32_t flags) {
  // ss's letters, in ss's order: upper case for the peer's side.
  static constexpr struct {
    uint32_t bit;
    char letter;
  } kLetters[] = {
      {MPTCP_SUBFLOW_FLAG_MCAP_REM, 'M'},          {MPTCP_SUBFLOW_FLAG_MCAP_LOC, 'm'},
      {MPTCP_SUBFLOW_FLAG_JOIN_REM, 'J'},          {MPTCP_SUBFLOW_FLAG_JOIN_LOC, 'j'},
      {MPTCP_SUBFLOW_FLAG_BKUP_REM, 'B'},          {MPTCP_SUBFLOW_FLAG_BKUP_LOC, 'b'},
      {MPTCP_SUBFLOW_FLAG_FULLY_ESTABLISHED, 'e'}, {MPTCP_SUBFLOW_FLAG_CONNECTED, 'c'},
      {MPTCP_SUBFLOW_FLAG_MAPVALID, 'v'},
  };
  std::string text;
  for (const auto& l : kLetters)
    if (flags & l.bit) text += l.letter;
  return text;
}

void append_md5keys_text(std::string& out, const diag::SockInfo& s, bool resolve) {
  if (s.md5keys.empty()) return;
  out += " md5keys:";
  for (size_t i = 0; i < s.md5keys.size(); i++) {
    if (i) out += ',';
    append_md5key(out, s.md5keys[i], resolve);
  }
}

void append_ulp_text(std::string& out, const diag::SockInfo& s) {
  if (!s.ulp.empty()) {
    out += " tcp-ulp-";
    out += s.ulp;
  }
  if (s.tls) append_tls(out, *s.tls);
  if (s.mptcp_sf) append_mptcp_subflow(out, *s.mptcp_sf);
}

}  // namespace sstrace::output

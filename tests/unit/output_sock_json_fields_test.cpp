#include "output/sock_json_fields.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "addr_literal.h"

namespace sstrace::output {
namespace {

using diag::SockInfo;
using diag::SockKind;

TEST(SockJsonFields, json_addresses) {
  SockInfo s;
  s.kind = SockKind::tcp;
  s.family = AF_INET6;
  s.local.addr = addr("::");
  EXPECT_EQ(json_laddr(s), "*");  // dual-stack wildcard, as ss -n shows it
  s.v6only = true;
  s.has_v6only = true;
  EXPECT_EQ(json_laddr(s), "::");
  EXPECT_EQ(json_raddr(s), "*");
  s.remote.addr = addr("::ffff:10.0.0.1");
  EXPECT_EQ(json_raddr(s), "::ffff:10.0.0.1");
  s.family = AF_INET;
  s.local.addr = addr("0.0.0.0");
  s.remote.addr = addr("0.0.0.0");
  EXPECT_EQ(json_laddr(s), "0.0.0.0");
  EXPECT_EQ(json_raddr(s), "*");
  s.kind = SockKind::unix_stream;
  EXPECT_EQ(json_laddr(s), "*");
  s.unix_path = "@abstract";
  EXPECT_EQ(json_laddr(s), "@abstract");
  s.kind = SockKind::packet_raw;
  s.packet_protocol = 0x0800;
  EXPECT_EQ(json_laddr(s), "[2048]");
}

}  // namespace
}  // namespace sstrace::output

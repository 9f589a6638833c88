#include "output/names.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

namespace sstrace::output {
namespace {

using diag::SockInfo;
using diag::SockKind;

TEST(Names, state_names_are_ss_spelling) {
  EXPECT_EQ(state_name(diag::kEstablished), "ESTAB");
  EXPECT_EQ(state_name(diag::kSynSent), "SYN-SENT");
  EXPECT_EQ(state_name(diag::kSynRecv), "SYN-RECV");
  EXPECT_EQ(state_name(diag::kFinWait1), "FIN-WAIT-1");
  EXPECT_EQ(state_name(diag::kFinWait2), "FIN-WAIT-2");
  EXPECT_EQ(state_name(diag::kTimeWait), "TIME-WAIT");
  EXPECT_EQ(state_name(diag::kClose), "UNCONN");
  EXPECT_EQ(state_name(diag::kCloseWait), "CLOSE-WAIT");
  EXPECT_EQ(state_name(diag::kLastAck), "LAST-ACK");
  EXPECT_EQ(state_name(diag::kListen), "LISTEN");
  EXPECT_EQ(state_name(diag::kClosing), "CLOSING");
  EXPECT_EQ(state_name(0), "UNKNOWN");
  EXPECT_EQ(state_name(diag::kNewSynRecv), "UNKNOWN");
  EXPECT_EQ(state_name(200), "UNKNOWN");
}

TEST(Names, netids_families_and_protos) {
  EXPECT_EQ(netid_name(SockKind::tcp), "tcp");
  EXPECT_EQ(netid_name(SockKind::udp), "udp");
  EXPECT_EQ(netid_name(SockKind::raw), "raw");
  EXPECT_EQ(netid_name(SockKind::unix_stream), "u_str");
  EXPECT_EQ(netid_name(SockKind::unix_dgram), "u_dgr");
  EXPECT_EQ(netid_name(SockKind::unix_seqpacket), "u_seq");
  EXPECT_EQ(netid_name(SockKind::packet_raw), "p_raw");
  EXPECT_EQ(netid_name(SockKind::packet_dgram), "p_dgr");
  SockInfo s;
  s.kind = SockKind::udp;
  s.family = AF_INET6;
  EXPECT_EQ(family_name(s), "inet6");
  s.family = AF_INET;
  EXPECT_EQ(family_name(s), "inet");
  s.kind = SockKind::unix_seqpacket;
  EXPECT_EQ(family_name(s), "unix");
  EXPECT_EQ(proto_name(s.kind), "unix");
  s.kind = SockKind::packet_dgram;
  EXPECT_EQ(family_name(s), "packet");
  EXPECT_EQ(proto_name(s.kind), "packet");
}

TEST(Names, shutdown_arrows) {
  EXPECT_EQ(shutdown_text(0), "<->");
  EXPECT_EQ(shutdown_text(1), "-->");
  EXPECT_EQ(shutdown_text(2), "<--");
  EXPECT_EQ(shutdown_text(3), "---");
}

}  // namespace
}  // namespace sstrace::output

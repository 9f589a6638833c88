// An established connection from address literals, for the tests of what
// the stream writes and reads back.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include "diag/sock_info.h"
#include "model/connection.h"

namespace sstrace {

inline model::Connection connection(uint8_t family, const char* laddr, uint16_t lport,
                                    const char* raddr, uint16_t rport) {
  model::Connection c;
  c.key = {4026531840u, 77};
  c.family = family;
  EXPECT_EQ(inet_pton(family, laddr, c.local.addr.data()), 1);
  EXPECT_EQ(inet_pton(family, raddr, c.remote.addr.data()), 1);
  c.local.port = lport;
  c.remote.port = rport;
  c.state = diag::kEstablished;
  return c;
}

}  // namespace sstrace

// An address literal ("127.0.0.1", "::ffff:10.0.0.1") as the 16 bytes
// SockInfo and the address text functions take.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>

namespace sstrace {

inline std::array<uint8_t, 16> addr(const char* text) {
  std::array<uint8_t, 16> a{};
  const int af = std::string(text).find(':') != std::string::npos ? AF_INET6 : AF_INET;
  EXPECT_EQ(inet_pton(af, text, a.data()), 1) << text;
  return a;
}

}  // namespace sstrace

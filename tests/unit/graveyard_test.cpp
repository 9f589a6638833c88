#include "model/graveyard.h"

#include <gtest/gtest.h>

namespace sstrace::model {
namespace {

constexpr uint32_t kNetns = 4026531840u;

Connection dead(uint64_t cookie, uint32_t pid = 0) {
  Connection c;
  c.key = {kNetns, cookie};
  c.owner.pid = pid;
  c.owner.comm = "worker";
  return c;
}

TEST(Graveyard, keeps_the_last_burials_and_evicts_the_oldest_first) {
  Graveyard g(4);
  for (uint64_t cookie = 1; cookie <= 4; ++cookie) g.bury(dead(cookie, uint32_t(cookie)));
  EXPECT_EQ(g.size(), 4u);
  g.bury(dead(5));
  EXPECT_EQ(g.size(), 4u);
  EXPECT_EQ(g.find({kNetns, 1}), nullptr);
  for (uint64_t cookie = 2; cookie <= 5; ++cookie) EXPECT_NE(g.find({kNetns, cookie}), nullptr);
  g.bury(dead(6));
  EXPECT_EQ(g.find({kNetns, 2}), nullptr);
  ASSERT_NE(g.find({kNetns, 3}), nullptr);
  EXPECT_EQ(g.find({kNetns, 3})->owner.pid, 3u);
  EXPECT_EQ(g.find({kNetns, 3})->owner.comm, "worker");
}

TEST(Graveyard, finds_every_survivor_after_many_wraps) {
  // Enough burials to wrap the ring many times and exercise the index's
  // deletions (cookies sequential, as the kernel hands them out, and in
  // other namespaces too).
  Graveyard g(64);
  uint64_t last = 0;
  for (uint64_t cookie = 1; cookie <= 10'000; ++cookie) {
    Connection c = dead(cookie);
    c.key.netns = kNetns + uint32_t(cookie % 3);
    g.bury(std::move(c));
    last = cookie;
  }
  EXPECT_EQ(g.size(), 64u);
  for (uint64_t cookie = 1; cookie <= last; ++cookie) {
    const Connection* c = g.find({kNetns + uint32_t(cookie % 3), cookie});
    if (cookie > last - 64) {
      ASSERT_NE(c, nullptr) << cookie;
      EXPECT_EQ(c->key.cookie, cookie);
    } else {
      ASSERT_EQ(c, nullptr) << cookie;
    }
  }
  EXPECT_EQ(g.find({kNetns + uint32_t((last + 1) % 3), last}),
            nullptr);  // right cookie, wrong namespace
}

TEST(Graveyard, a_key_buried_again_replaces_its_earlier_entry) {
  Graveyard g(3);
  g.bury(dead(1, 10));
  g.bury(dead(2));
  g.bury(dead(1, 11));  // revived by a late record, ended again
  EXPECT_EQ(g.size(), 2u);
  EXPECT_EQ(g.find({kNetns, 1})->owner.pid, 11u);
  // Its earlier slot is the next to go: evicting it must not drop the new one.
  g.bury(dead(3));
  g.bury(dead(4));
  EXPECT_EQ(g.find({kNetns, 2}), nullptr);
  ASSERT_NE(g.find({kNetns, 1}), nullptr);
  EXPECT_EQ(g.find({kNetns, 1})->owner.pid, 11u);
  EXPECT_EQ(g.size(), 3u);
}

TEST(Graveyard, a_found_connection_can_be_updated_in_place) {
  Graveyard g(2);
  g.bury(dead(1));
  g.find({kNetns, 1})->reset_received = true;  // a reset after the close
  EXPECT_TRUE(g.find({kNetns, 1})->reset_received);
}

}  // namespace
}  // namespace sstrace::model

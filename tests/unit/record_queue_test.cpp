// The reader thread's user-space queue (src/bpf/record_queue.h): order kept
// across chunks, the memory cap enforced with every refused record counted,
// and room again once the consumer has caught up.
#include "bpf/record_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace sstrace::bpf {
namespace {

RecordQueue make_queue(size_t cap_bytes) {
  auto wake = sys::Wakeup::create();
  if (!wake) throw std::runtime_error(wake.error().str());
  return RecordQueue(cap_bytes, std::move(*wake));
}

sstrace_record numbered(uint64_t n) {
  sstrace_record r{};
  r.id.cookie = n;
  return r;
}

std::vector<uint64_t> take_all(RecordQueue& q) {
  std::vector<uint64_t> got;
  q.consume([&](const sstrace_record& r) { got.push_back(r.id.cookie); });
  return got;
}

TEST(RecordQueue, records_come_out_in_order_across_chunks) {
  auto q = make_queue(size_t(16) << 20);
  const uint64_t n = RecordQueue::kChunkRecords * 3 + 7;
  for (uint64_t i = 0; i < n; ++i) q.push(numbered(i));
  q.publish();
  std::vector<uint64_t> got = take_all(q);
  ASSERT_EQ(got.size(), n);
  for (uint64_t i = 0; i < n; ++i) ASSERT_EQ(got[i], i);
  EXPECT_EQ(q.dropped(), 0u);
  EXPECT_EQ(q.high_water(), n);
}

TEST(RecordQueue, nothing_is_visible_before_publish) {
  auto q = make_queue(size_t(1) << 20);
  q.push(numbered(1));
  EXPECT_TRUE(take_all(q).empty());
  q.publish();
  EXPECT_EQ(take_all(q), std::vector<uint64_t>{1});
}

TEST(RecordQueue, the_cap_refuses_records_and_counts_each) {
  // Two chunks' worth: the third chunk is never allocated.
  auto q = make_queue(RecordQueue::kChunkBytes * 2);
  EXPECT_EQ(q.cap_bytes(), RecordQueue::kChunkBytes * 2);
  const uint64_t fits = RecordQueue::kChunkRecords * 2;
  for (uint64_t i = 0; i < fits + 100; ++i) q.push(numbered(i));
  q.publish();
  EXPECT_EQ(q.dropped(), 100u);
  std::vector<uint64_t> got = take_all(q);
  ASSERT_EQ(got.size(), fits);
  EXPECT_EQ(got.back(), fits - 1);  // the oldest are kept, the newest refused
  // Consumed chunks are room again.
  for (uint64_t i = 0; i < 10; ++i) q.push(numbered(1000 + i));
  q.publish();
  EXPECT_EQ(take_all(q).size(), 10u);
  EXPECT_EQ(q.dropped(), 100u);
}

TEST(RecordQueue, a_cap_below_one_chunk_still_holds_one) {
  auto q = make_queue(1);
  for (uint64_t i = 0; i < RecordQueue::kChunkRecords + 1; ++i) q.push(numbered(i));
  q.publish();
  EXPECT_EQ(take_all(q).size(), RecordQueue::kChunkRecords);
  EXPECT_EQ(q.dropped(), 1u);
}

TEST(RecordQueue, a_waiting_consumer_is_woken_by_publish_from_another_thread) {
  auto q = make_queue(size_t(1) << 20);
  std::thread producer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    q.push(numbered(42));
    q.publish();
  });
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<uint64_t> got;
  while (got.empty() && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10)) {
    ASSERT_TRUE(q.wait(5000));
    got = take_all(q);
  }
  producer.join();
  EXPECT_EQ(got, std::vector<uint64_t>{42});
  // Woken by the publish, not by the 5 s timeout.
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4));
}

TEST(RecordQueue, wait_times_out_when_nothing_comes) {
  auto q = make_queue(size_t(1) << 20);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(q.wait(30));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(25));
  EXPECT_TRUE(take_all(q).empty());
}

}  // namespace
}  // namespace sstrace::bpf

// The user-space queue between the ring-buffer reader thread and the main
// thread (bench/hotspots.md, item 14). The kernel's ring buffer is small
// and fixed; when the main thread, busy formatting, waits for a CPU, the
// reader thread still empties the ring into this queue, so the kernel does
// not drop records. Records travel in chunks: one lock per chunk, not per
// record. The queue is bounded by a memory cap; what finds it full is
// counted (dropped()) and reported as lost, like the kernel's losses.
//
// One producer (the reader thread, or the main thread once the reader has
// stopped) and one consumer (the main thread).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "sstrace/events.h"
#include "sys/wakeup.h"

namespace sstrace::bpf {

class RecordQueue {
 public:
  // Records per chunk: 40 KiB, about the 64 KiB the kernel side lets pile
  // up before it wakes the reader, so a batch fills one or two chunks.
  static constexpr size_t kChunkRecords = 256;
  static constexpr size_t kChunkBytes = kChunkRecords * sizeof(sstrace_record);

  // cap_bytes: at most this much memory in chunks (at least one chunk).
  RecordQueue(size_t cap_bytes, sys::Wakeup consumer_wakeup);

  // Producer: appends a record, or counts it as dropped when the cap is
  // reached. Visible to the consumer after publish().
  void push(const sstrace_record& r);
  // Producer: hands over what push() appended since the last publish.
  void publish();

  // Consumer: waits up to timeout_ms for published records (a signal ends
  // the wait early). False on a poll error.
  bool wait(int timeout_ms);
  // Consumer: hands every record published so far to fn, in order, and
  // returns how many.
  size_t consume(const std::function<void(const sstrace_record&)>& fn);

  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // The most records ever waiting at once (for -v and the benchmarks).
  uint64_t high_water() const { return high_water_.load(std::memory_order_relaxed); }
  size_t cap_bytes() const { return max_chunks_ * kChunkBytes; }

 private:
  struct Chunk {
    size_t count = 0;
    sstrace_record records[kChunkRecords];
  };
  std::unique_ptr<Chunk> take_free_chunk_locked();

  const size_t max_chunks_;
  sys::Wakeup wakeup_;
  std::unique_ptr<Chunk> filling_;  // the producer's own

  std::mutex mu_;  // guards everything below
  std::vector<std::unique_ptr<Chunk>> ready_;
  std::vector<std::unique_ptr<Chunk>> free_;
  size_t chunks_ = 0;     // allocated, wherever they are
  uint64_t waiting_ = 0;  // records in ready_
  bool consumer_asleep_ = false;

  std::atomic<uint64_t> dropped_{0};
  std::atomic<uint64_t> high_water_{0};
};

}  // namespace sstrace::bpf

#include "bpf/record_queue.h"

#include <algorithm>
#include <utility>

namespace sstrace::bpf {

namespace {

// Chunks kept for reuse after a burst; the rest go back to the allocator,
// so a burst does not leave the process at its peak size for good.
constexpr size_t kSpareChunks = 64;  // 2.5 MiB

}  // namespace

RecordQueue::RecordQueue(size_t cap_bytes, sys::Wakeup consumer_wakeup)
    : max_chunks_(std::max<size_t>(1, cap_bytes / kChunkBytes)),
      wakeup_(std::move(consumer_wakeup)) {}

std::unique_ptr<RecordQueue::Chunk> RecordQueue::take_free_chunk_locked() {
  if (!free_.empty()) {
    std::unique_ptr<Chunk> c = std::move(free_.back());
    free_.pop_back();
    return c;
  }
  if (chunks_ == max_chunks_) return nullptr;
  ++chunks_;
  // Not make_unique: value-initialising would zero 40 KiB that push()
  // overwrites anyway, on the reader thread's time.
  return std::unique_ptr<Chunk>(new Chunk);
}

void RecordQueue::push(const sstrace_record& r) {
  if (filling_ && filling_->count == kChunkRecords) publish();
  if (!filling_) {
    std::lock_guard<std::mutex> lock(mu_);
    filling_ = take_free_chunk_locked();
  }
  if (!filling_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  filling_->records[filling_->count++] = r;
}

void RecordQueue::publish() {
  if (!filling_ || filling_->count == 0) return;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    waiting_ += filling_->count;
    if (waiting_ > high_water_.load(std::memory_order_relaxed))
      high_water_.store(waiting_, std::memory_order_relaxed);
    ready_.push_back(std::move(filling_));
    wake = std::exchange(consumer_asleep_, false);
  }
  // Only a consumer that is about to sleep is woken: a busy one finds the
  // chunk on its next consume(), without a system call per batch.
  if (wake) wakeup_.signal();
}

bool RecordQueue::wait(int timeout_ms) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ready_.empty()) return true;
    consumer_asleep_ = true;
  }
  const bool ok = sys::wait_readable({wakeup_.fd()}, timeout_ms);
  wakeup_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  consumer_asleep_ = false;
  return ok;
}

size_t RecordQueue::consume(const std::function<void(const sstrace_record&)>& fn) {
  std::vector<std::unique_ptr<Chunk>> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(ready_);
    waiting_ = 0;
  }
  size_t n = 0;
  for (const auto& c : batch) {
    for (size_t i = 0; i < c->count; ++i) fn(c->records[i]);
    n += c->count;
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& c : batch) {
    if (free_.size() >= kSpareChunks) {
      --chunks_;
      continue;  // freed with batch
    }
    c->count = 0;
    free_.push_back(std::move(c));
  }
  return n;
}

}  // namespace sstrace::bpf

// The thread that only moves records from the kernel's ring buffer into the
// user-space RecordQueue (bench/hotspots.md, item 14). Copying a record
// costs a few nanoseconds, so this thread needs little CPU and gets it in
// time even when busy workload threads starve the main thread, which
// formats and writes: the ring stays nearly empty and the kernel drops
// nothing. Every signal is blocked in it, so signals reach the main thread
// and end its waits at once.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "bpf/record_queue.h"
#include "bpf/tracer.h"
#include "common/result.h"
#include "sys/wakeup.h"

namespace sstrace::bpf {

class RingReader {
 public:
  // The tracer's handler must push into queue (and nothing else) from now
  // on: it runs on the new thread. Capabilities and nice value are the
  // caller's (a new thread inherits them).
  static Result<std::unique_ptr<RingReader>> start(Tracer& tracer, RecordQueue& queue);
  ~RingReader();  // stop()
  RingReader(const RingReader&) = delete;
  RingReader& operator=(const RingReader&) = delete;

  // Returns once every record the ring held when it was called is in the
  // queue (published): the "drain now" the stream needs before a resync
  // dump, a SIGUSR1 table, the end. False when the reader has failed.
  bool catch_up();
  // Ends the thread (joined). The ring still holds what arrived since its
  // last pass: the caller drains it itself.
  void stop();
  // The ring-buffer read error that ended the thread, if one did.
  const Error* failure() const { return failed_.load() ? &error_ : nullptr; }

 private:
  RingReader(Tracer& tracer, RecordQueue& queue, sys::Wakeup wake)
      : tracer_(tracer), queue_(queue), wake_(std::move(wake)) {}
  void run();
  void complete(uint64_t request);

  Tracer& tracer_;
  RecordQueue& queue_;
  sys::Wakeup wake_;  // stop() and catch_up() knock here
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  Error error_;

  std::mutex mu_;
  std::condition_variable caught_up_;
  uint64_t requested_ = 0;  // catch_up() calls so far
  uint64_t completed_ = 0;  // the last request a full pass followed
  std::thread thread_;
};

}  // namespace sstrace::bpf

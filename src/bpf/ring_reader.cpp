#include "bpf/ring_reader.h"

#include <pthread.h>
#include <signal.h>

namespace sstrace::bpf {

namespace {

// Longest sleep between passes. The kernel side wakes the reader once 64 KiB
// are pending (TracerConfig::wakeup_bytes); a quieter trickle waits at most
// this long, the latency the main loop's own poll used to have.
constexpr int kIdlePollMs = 50;

}  // namespace

Result<std::unique_ptr<RingReader>> RingReader::start(Tracer& tracer, RecordQueue& queue) {
  auto wake = sys::Wakeup::create();
  if (!wake) return wake.error();
  std::unique_ptr<RingReader> r(new RingReader(tracer, queue, std::move(*wake)));
  // The new thread inherits the signal mask: block everything around its
  // creation, so that no handler ever runs on it.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  r->thread_ = std::thread([p = r.get()] { p->run(); });
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return r;
}

RingReader::~RingReader() { stop(); }

void RingReader::stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  wake_.signal();
  thread_.join();
}

bool RingReader::catch_up() {
  if (!thread_.joinable()) return !failed_;  // stopped: the caller drains
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t request = ++requested_;
  wake_.signal();
  caught_up_.wait(lock, [&] { return completed_ >= request; });
  return !failed_;
}

void RingReader::complete(uint64_t request) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    completed_ = request;
  }
  caught_up_.notify_all();
}

void RingReader::run() {
  while (!stop_) {
    // Records are submitted without a wake-up until enough are pending, so
    // a pass follows every wait, whatever ended it.
    (void)sys::wait_readable({tracer_.ring_fd(), wake_.fd()}, kIdlePollMs);
    wake_.clear();
    uint64_t request;
    {
      std::lock_guard<std::mutex> lock(mu_);
      request = requested_;  // a pass that starts now covers these
    }
    Result<int> n = tracer_.drain();
    queue_.publish();
    if (!n) {
      error_ = n.error();
      failed_ = true;
      complete(UINT64_MAX);  // nobody waits for a pass that will not come
      return;
    }
    complete(request);
  }
}

}  // namespace sstrace::bpf

#include "views/rates_text.h"

#include <cinttypes>
#include <cstdio>

namespace sstrace::views {

namespace {

void append_rate(std::string& out, const char* name, const aggregate::Frame& f, uint64_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s %.1f/s", name, f.rate(n));
  out += buf;
}

}  // namespace

std::string ms_text(uint64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%" PRIu64 ".%03" PRIu64 "ms", us / 1000, us % 1000);
  return buf;
}

std::string rates_line(const aggregate::Frame& f) {
  const aggregate::Row& t = f.totals;
  const aggregate::Counts& c = t.counts;
  char buf[160];
  std::snprintf(buf, sizeof buf, "Rates (%.2f s): ", f.interval_s);
  std::string out = buf;
  append_rate(out, "opens", f, c.opens());
  std::snprintf(buf, sizeof buf, " (in %.1f, out %.1f), ", f.rate(c.opens_in), f.rate(c.opens_out));
  out += buf;
  append_rate(out, "closes", f, c.closes);
  out += ", ";
  append_rate(out, "failed", f, c.failed);
  out += ", ";
  append_rate(out, "resets", f, c.resets());
  out += ", ";
  append_rate(out, "retrans", f, c.retrans);
  std::snprintf(buf, sizeof buf, "; alive %" PRIu64 ", time-wait %" PRIu64 ", close-wait %" PRIu64,
                t.alive, t.time_wait, t.close_wait);
  out += buf;
  if (auto s = t.short_lived()) {
    std::snprintf(buf, sizeof buf, "; short-lived %.0f%%", *s * 100);
    out += buf;
  }
  if (t.srtt_p50_us && t.srtt_p99_us)
    out += "; srtt p50 " + ms_text(*t.srtt_p50_us) + " p99 " + ms_text(*t.srtt_p99_us);
  if (f.ephemeral_range) {
    std::snprintf(buf, sizeof buf, "; ephemeral ports %" PRIu64 "/%" PRIu64, f.ephemeral_in_use,
                  f.ephemeral_range);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, "; lost %" PRIu64 "\n", f.lost);
  out += buf;
  return out;
}

}  // namespace sstrace::views

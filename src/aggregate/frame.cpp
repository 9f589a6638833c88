#include "aggregate/frame.h"

#include <algorithm>
#include <tuple>

namespace sstrace::aggregate {

namespace {

constexpr GroupBy kCycle[] = {GroupBy::peer_port, GroupBy::port, GroupBy::peer, GroupBy::process};

}  // namespace

std::string_view group_by_name(GroupBy by) {
  switch (by) {
    case GroupBy::peer:
      return "peer";
    case GroupBy::port:
      return "port";
    case GroupBy::peer_port:
      return "peer-port";
    case GroupBy::process:
      return "process";
  }
  return "?";
}

std::optional<GroupBy> parse_group_by(std::string_view word) {
  for (GroupBy by : kCycle)
    if (group_by_name(by) == word) return by;
  return std::nullopt;
}

GroupBy next_group_by(GroupBy by) {
  for (size_t i = 0; i < std::size(kCycle); ++i)
    if (kCycle[i] == by) return kCycle[(i + 1) % std::size(kCycle)];
  return kCycle[0];
}

size_t GroupKeyHash::operator()(const GroupKey& k) const noexcept {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
  mix(k.netns);
  mix(k.family);
  for (uint8_t b : k.peer) mix(b);
  mix(k.port);
  mix(uint8_t(k.dir));
  mix(k.pid);
  mix(std::hash<std::string>()(k.comm));
  return h;
}

std::vector<std::pair<int, uint64_t>> Frame::failed_by_largest() const {
  std::vector<std::pair<int, uint64_t>> by(failed_by.begin(), failed_by.end());
  std::stable_sort(by.begin(), by.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return by;
}

void Counts::add(const Counts& o) {
  opens_in += o.opens_in;
  opens_out += o.opens_out;
  closes += o.closes;
  failed += o.failed;
  resets_sent += o.resets_sent;
  resets_received += o.resets_received;
  retrans += o.retrans;
  timed_closes += o.timed_closes;
  short_closes += o.short_closes;
}

std::optional<double> Row::short_lived() const {
  if (counts.timed_closes == 0) return std::nullopt;
  return double(counts.short_closes) / double(counts.timed_closes);
}

std::string_view column_name(Column c) {
  switch (c) {
    case Column::opens:
      return "opens";
    case Column::closes:
      return "closes";
    case Column::failed:
      return "failed";
    case Column::resets:
      return "resets";
    case Column::retrans:
      return "retrans";
    case Column::alive:
      return "alive";
    case Column::time_wait:
      return "time_wait";
    case Column::close_wait:
      return "close_wait";
    case Column::short_lived:
      return "short_lived";
    case Column::srtt_p50:
      return "srtt_p50_us";
    case Column::srtt_p99:
      return "srtt_p99_us";
  }
  return "?";
}

namespace {

// A row's value in a column, as a number to sort by (no sample sorts last).
double sort_value(const Row& r, Column c) {
  switch (c) {
    case Column::opens:
      return double(r.counts.opens());
    case Column::closes:
      return double(r.counts.closes);
    case Column::failed:
      return double(r.counts.failed);
    case Column::resets:
      return double(r.counts.resets());
    case Column::retrans:
      return double(r.counts.retrans);
    case Column::alive:
      return double(r.alive);
    case Column::time_wait:
      return double(r.time_wait);
    case Column::close_wait:
      return double(r.close_wait);
    case Column::short_lived:
      return r.short_lived().value_or(-1);
    case Column::srtt_p50:
      return r.srtt_p50_us ? double(*r.srtt_p50_us) : -1;
    case Column::srtt_p99:
      return r.srtt_p99_us ? double(*r.srtt_p99_us) : -1;
  }
  return 0;
}

auto key_tuple(const GroupKey& k) {
  return std::tie(k.netns, k.port, k.dir, k.family, k.peer, k.pid, k.comm);
}

}  // namespace

void sort_rows(std::vector<Row>& rows, Column by) {
  std::sort(rows.begin(), rows.end(), [by](const Row& a, const Row& b) {
    double va = sort_value(a, by), vb = sort_value(b, by);
    if (va != vb) return va > vb;
    // Then by the connections they stand for, then by key: a stable order.
    if (a.alive != b.alive) return a.alive > b.alive;
    return key_tuple(a.key) < key_tuple(b.key);
  });
}

}  // namespace sstrace::aggregate

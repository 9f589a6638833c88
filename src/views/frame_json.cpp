#include "views/frame_json.h"

#include <cmath>

#include "output/address_text.h"
#include "output/event_common.h"

namespace sstrace::views {

namespace {

// Three decimals: a rate is a count over a measured interval, and more
// digits are noise that makes every line longer.
double rounded_rate(const aggregate::Frame& f, uint64_t count) {
  return std::round(f.rate(count) * 1000) / 1000;
}

}  // namespace

const char* dir_name(model::Direction d) {
  switch (d) {
    case model::Direction::in:
      return "in";
    case model::Direction::out:
      return "out";
    case model::Direction::listen:
      return "listen";
    case model::Direction::unknown:
      break;
  }
  return "unknown";
}

nlohmann::ordered_json row_counters_json(const aggregate::Frame& f, const aggregate::Row& r) {
  nlohmann::ordered_json j;
  const aggregate::Counts& c = r.counts;
  j["opens"] = rounded_rate(f, c.opens());
  j["opens_in"] = rounded_rate(f, c.opens_in);
  j["opens_out"] = rounded_rate(f, c.opens_out);
  j["closes"] = rounded_rate(f, c.closes);
  j["failed"] = rounded_rate(f, c.failed);
  j["resets"] = rounded_rate(f, c.resets());
  j["retrans"] = rounded_rate(f, c.retrans);
  j["alive"] = r.alive;
  j["time_wait"] = r.time_wait;
  j["close_wait"] = r.close_wait;
  if (auto s = r.short_lived()) j["short_lived"] = std::round(*s * 1000) / 1000;
  if (r.srtt_p50_us) j["srtt_p50_us"] = *r.srtt_p50_us;
  if (r.srtt_p99_us) j["srtt_p99_us"] = *r.srtt_p99_us;
  return j;
}

nlohmann::ordered_json group_json(const aggregate::Frame& f, const aggregate::Row& r) {
  nlohmann::ordered_json j;
  const aggregate::GroupKey& k = r.key;
  if (k.netns) j["netns"] = k.netns;
  const bool peer = f.by == aggregate::GroupBy::peer || f.by == aggregate::GroupBy::peer_port;
  const bool port = f.by == aggregate::GroupBy::port || f.by == aggregate::GroupBy::peer_port;
  if (peer && k.family) j["peer"] = output::addr_text(k.family, k.peer);
  if (port) {
    j["port"] = k.port;
    j["dir"] = dir_name(k.dir);
  }
  if (f.by == aggregate::GroupBy::process && k.pid) {
    j["pid"] = k.pid;
    j["comm"] = k.comm;
  }
  j.update(row_counters_json(f, r));
  return j;
}

void add_totals_json(nlohmann::ordered_json& j, const aggregate::Frame& f) {
  j["totals"] = row_counters_json(f, f.totals);
  if (!f.failed_by.empty()) {
    nlohmann::ordered_json by = nlohmann::ordered_json::object();
    for (const auto& [err, n] : f.failed_by_largest())
      by[std::string(output::errno_name(err))] = rounded_rate(f, n);
    j["totals"]["failed_by"] = std::move(by);
  }
  if (f.ephemeral_range)
    j["ephemeral"] = {{"in_use", f.ephemeral_in_use}, {"range", f.ephemeral_range}};
  j["lost"] = f.lost;
}

nlohmann::ordered_json top_json(const aggregate::Frame& f, const std::string& ts_text) {
  nlohmann::ordered_json j;
  j["type"] = "top";
  j["ts"] = ts_text;
  j["v"] = 1;
  j["interval_s"] = std::round(f.interval_s * 1000) / 1000;
  j["by"] = std::string(aggregate::group_by_name(f.by));
  add_totals_json(j, f);
  if (f.alerts) j["alerts"] = f.alerts;
  if (f.listen_drops) j["listen_drops"] = f.listen_drops;
  auto groups = nlohmann::ordered_json::array();
  for (const aggregate::Row& r : f.groups) groups.push_back(group_json(f, r));
  j["groups"] = std::move(groups);
  return j;
}

}  // namespace sstrace::views

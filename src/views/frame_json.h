// The JSON of the churn views (CONTRACT.md "Churn analysis"): the `top`
// object and the rates part of the live `summary` event, from a Frame.
// Rates are per second over the frame's interval.
#pragma once

#include <nlohmann/json.hpp>

#include "aggregate/frame.h"

namespace sstrace::views {

// A group's `dir`: in, out, listen, unknown.
const char* dir_name(model::Direction d);
// A row's counters: rates, gauges, short_lived and the srtt percentiles
// (absent when there is no sample). Totals also carry opens_in/opens_out.
nlohmann::ordered_json row_counters_json(const aggregate::Frame& f, const aggregate::Row& r);
// A group: its key fields (peer, port and dir, pid and comm, netns), then
// its counters.
nlohmann::ordered_json group_json(const aggregate::Frame& f, const aggregate::Row& r);
// What the `top` object and the live `summary` event share: `totals`, the
// ephemeral ports in use (when the range is known) and `lost`.
void add_totals_json(nlohmann::ordered_json& j, const aggregate::Frame& f);
// The whole `top` object; ts_text is the frame's time, RFC 3339.
nlohmann::ordered_json top_json(const aggregate::Frame& f, const std::string& ts_text);

}  // namespace sstrace::views

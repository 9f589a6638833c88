// ss -o's timer column: timer:(keepalive,89min,0).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sstrace::output {

// idiag_timer: 1 on, 2 keepalive, 3 timewait, 4 persist, others unknown;
// 0 ("off") is never printed by ss.
std::string_view timer_name(uint8_t timer);
// ss's print_ms_timer: 89min, 55sec, 1.595ms (that is 1.595 seconds: ss's
// own spelling), 200ms. Whole minutes drop the seconds past 9 minutes.
std::string ms_timer(uint32_t ms);
// ss's timer column: timer:(keepalive,89min,0).
std::string timer_text(uint8_t timer, uint32_t expires_ms, uint8_t retrans);

}  // namespace sstrace::output

#include "output/rate_text.h"

#include "output/append_number.h"

namespace sstrace::output {

void append_rate_text(std::string& out, double bps, bool numeric) {
  if (numeric) return append_fixed(out, bps, 0);  // "%.0f"
  struct Unit {
    double scale;
    char suffix;
  };
  static constexpr Unit kUnits[] = {{1e12, 'T'}, {1e9, 'G'}, {1e6, 'M'}, {1e3, 'k'}};
  for (const Unit& u : kUnits) {
    if (bps >= u.scale) {
      append_general(out, bps / u.scale, 3);  // "%.3gM"
      out += u.suffix;
      return;
    }
  }
  append_general(out, bps);  // "%g"
}

std::string rate_text(double bps, bool numeric) {
  std::string out;
  append_rate_text(out, bps, numeric);
  return out;
}

std::string g_text(double v) {
  std::string out;
  append_general(out, v);
  return out;
}

}  // namespace sstrace::output

#include "replay/bad_lines.h"

#include "output/terminal_text.h"

namespace sstrace::replay {

void BadLines::add(uint64_t line_number, std::string why) {
  ++count_;
  if (listed_.size() < kListed) listed_.push_back({line_number, std::move(why)});
}

std::string BadLines::report() const {
  std::string out = std::to_string(count_) + (count_ == 1 ? " line is" : " lines are") +
                    " not sstrace events and " + (count_ == 1 ? "was" : "were") + " skipped: ";
  for (size_t i = 0; i < listed_.size(); ++i) {
    if (i) out += ", ";
    out += "line " + std::to_string(listed_[i].line) + " (";
    output::append_terminal_safe(out, listed_[i].why);
    out += ")";
  }
  if (count_ > listed_.size()) out += ", and " + std::to_string(count_ - listed_.size()) + " more";
  return out;
}

}  // namespace sstrace::replay

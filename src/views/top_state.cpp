#include "views/top_state.h"

namespace sstrace::views {

using aggregate::Column;

namespace {

constexpr size_t kMaxFilterLength = 512;  // a line, not a file (-F is for files)

}  // namespace

TopAction TopState::sort_by(int column) {
  if (column < 0) column = 0;
  if (column >= aggregate::kColumnCount) column = aggregate::kColumnCount - 1;
  if (Column(column) == sort_) return TopAction::none;
  sort_ = Column(column);
  return TopAction::redraw;
}

TopAction TopState::key(int k) {
  if (k == kKeyNone) return TopAction::none;
  if (k == kKeyResize) return TopAction::redraw;
  if (editing_) return edit_key(k);
  message_.clear();
  if (help_ && k != 'q' && k != 'Q') {
    help_ = false;  // any key leaves the help page, as top's does
    return TopAction::redraw;
  }
  switch (k) {
    case 'q':
    case 'Q':
      return TopAction::quit;
    case '<':
    case kKeyLeft:
      return sort_by(int(sort_) - 1);
    case '>':
    case kKeyRight:
      return sort_by(int(sort_) + 1);
    case 'g':
      by_ = aggregate::next_group_by(by_);
      return TopAction::regroup;
    case 'p':
      paused_ = !paused_;
      return TopAction::redraw;
    case '/':
      editing_ = true;
      edit_ = filter_;
      return TopAction::redraw;
    case '?':
    case 'h':
      help_ = true;
      return TopAction::redraw;
    default:
      break;
  }
  if (k >= '1' && k <= '9') {
    sort_by(k - '1');
    return TopAction::redraw;
  }
  message_ = "unknown key; ? for help";
  return TopAction::redraw;
}

TopAction TopState::edit_key(int k) {
  switch (k) {
    case kKeyEnter:
    case '\n':
    case '\r':
      editing_ = false;
      pending_ = edit_;
      return TopAction::filter;
    case kKeyEscape:
      editing_ = false;
      return TopAction::redraw;
    case kKeyBackspace:
    case 127:
    case 8:
      if (!edit_.empty()) edit_.pop_back();
      return TopAction::redraw;
    default:
      break;
  }
  // Printable ASCII only: an ss filter has nothing else, and the line is
  // drawn back on the terminal as typed.
  if (k >= 0x20 && k < 0x7f && edit_.size() < kMaxFilterLength) {
    edit_ += char(k);
    return TopAction::redraw;
  }
  return TopAction::none;
}

void TopState::accept_filter() {
  filter_ = pending_;
  message_.clear();
}

void TopState::reject_filter(const std::string& error) { message_ = error; }

}  // namespace sstrace::views

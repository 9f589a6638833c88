// Stub so the tree links; the real parser and backends follow.
#include "filter/filter.h"

#include "filter/ast.h"

namespace sstrace::filter {

Filter::Filter() = default;
Filter::Filter(Filter&&) noexcept = default;
Filter& Filter::operator=(Filter&&) noexcept = default;
Filter::~Filter() = default;

Filter Filter::parse(const std::vector<std::string>& /*words*/) { return Filter{}; }
Filter Filter::parse_file(const std::string& /*path*/) { return Filter{}; }

void Filter::set_default_states(uint32_t states) {
  if (!has_states_) states_ = states;
}

bool Filter::matches(const diag::SockInfo& s) const { return (states_ & (1u << s.state)) != 0 || states_ == 0; }
bool Filter::empty() const { return root_ == nullptr; }
std::vector<uint8_t> Filter::inet_bytecode() const { return {}; }

}  // namespace sstrace::filter

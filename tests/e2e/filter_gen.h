// A seeded generator of ss filter commands for the differential test
// (filter_diff_test.cpp): random but reproducible expressions over every
// construct of ss's filter language, with values drawn from the sockets
// that test's world holds, so that a good share of them match something.
//
// Independent of sstrace's filter code on purpose: it only writes text.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace sstrace::e2e {

// What the world offers beyond fixed addresses and ports.
struct FilterWorldFacts {
  std::string dev_name;  // a device some sockets are bound to (beside lo)
  unsigned dev_index = 0;
  std::string cgroup;  // a cgroup (relative to the cgroup2 mount) holding sockets
};

struct GeneratedFilter {
  std::vector<std::string> options;      // e.g. {"-4", "-tan"}
  std::vector<std::string> state_words;  // leading `state X` / `exclude X` pairs
  std::string expression;                // words separated by single spaces
  bool split_words = false;              // expression passed as one argv word per token
  bool from_file = false;                // expression written to a -F file
  bool file_multiline = false;           // that file breaks the expression over lines
  std::vector<std::string> constructs;   // what it exercises, for the coverage tally

  // The argv after `ss` / `sstrace snapshot`; `file` is the -F path.
  std::vector<std::string> args(const std::string& file) const;
  // What goes into the -F file.
  std::string file_text() const;
  // A shell-like rendering, for messages.
  std::string describe() const;
};

class FilterGenerator {
 public:
  FilterGenerator(uint32_t seed, FilterWorldFacts facts);
  GeneratedFilter next();

 private:
  struct OptionSet {
    std::vector<std::string> args;
    int family;  // ss's preferred family: what addresses may be written in
    bool tcp;    // TCP is listed: tcp-only service names resolve
    bool udp;    // UDP is listed: names of both resolve
  };

  bool chance(double p);
  size_t pick(size_t n);
  template <class T>
  const T& one_of(const std::vector<T>& v) {
    return v[pick(v.size())];
  }

  void state_prefix(GeneratedFilter& f);
  std::string expr(int depth, GeneratedFilter& f);
  std::string compound(int depth, GeneratedFilter& f);
  std::string leaf(GeneratedFilter& f);
  std::string port_leaf(GeneratedFilter& f);
  std::string port_value(GeneratedFilter& f, bool for_comparison);
  std::string host_leaf(GeneratedFilter& f);
  std::string address(GeneratedFilter& f);
  std::string dev_leaf(GeneratedFilter& f);
  std::string mark_leaf(GeneratedFilter& f);
  std::string cgroup_leaf(GeneratedFilter& f);

  std::mt19937 rng_;
  FilterWorldFacts facts_;
  std::vector<OptionSet> option_sets_;
  const OptionSet* opts_ = nullptr;  // of the filter being generated
};

// The seed: SSTRACE_FILTER_SEED from the environment, else a fixed default.
uint32_t filter_seed();

// Every construct the issue lists, as the tags GeneratedFilter::constructs
// uses: a run must exercise each at least once.
const std::vector<std::string>& required_constructs();

// Adds a filter's constructs to a tally.
void count_constructs(const GeneratedFilter& f, std::map<std::string, int>& tally);

}  // namespace sstrace::e2e

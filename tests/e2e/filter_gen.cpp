#include "filter_gen.h"

#include <sys/socket.h>

#include <cstdlib>
#include <sstream>

#include "harness.h"

namespace sstrace::e2e {

namespace {

constexpr uint32_t kDefaultSeed = 20261122;

// Ports the world listens on or connects to, and bounds for comparisons
// that split its ephemeral ports.
const std::vector<std::string> kWorldPorts = {"8080", "8081", "9090", "6060", "7070", "5353",
                                              "6000", "9",    "7000", "7001", "7100", "7101",
                                              "7200", "7201", "9443", "7300"};
const std::vector<std::string> kCompareBounds = {"1024", "7000",  "7100",  "8080",
                                                 "9000", "32768", "45000", "65535"};
// Services of /etc/services: in both tcp and udp, or tcp only (those are
// only written when TCP is listed; ss looks names up in the listed tables).
const std::vector<std::string> kServicesBoth = {"discard", "domain"};
const std::vector<std::string> kServicesTcp = {"http-alt", "webcache", "tproxy",
                                               "x11",      "ssh",      "http"};

const std::vector<std::string> kStateNames = {
    "all",        "connected", "synchronized", "bucket",     "big",       "established", "syn-sent",
    "syn-recv",   "syn-rcv",   "fin-wait-1",   "fin-wait-2", "time-wait", "closed",      "close",
    "close-wait", "last-ack",  "listening",    "closing",    "unknown",   "unconnected"};

const std::vector<std::string> kPortOps = {"=",   "==", "!=", ">",  "<",   ">=", "<=",  "eq", "ne",
                                           "neq", "gt", "lt", "ge", "geq", "le", "leq", ""};

const std::vector<std::string> kV4Hosts = {"127.0.0.1", "127.0.0.2", "127.0.0.3",
                                           "127.0.0.5", "10.77.0.1", "127.0.0.9"};
const std::vector<std::string> kV4Prefixes = {"127.0.0.0/8",  "127.0.0.0/30", "127.0.0.2/31",
                                              "10.77.0.0/24", "0.0.0.0/0",    "127.0.0.4/32"};
const std::vector<std::string> kV6Brackets = {"[::1]",     "[fd00:77::1]", "[fd00:77::/64]",
                                              "[::1/128]", "[::/0]",       "[fd00::/8]",
                                              "[::]",      "[fd00:1::1]"};
const std::vector<std::string> kV6BracketPorts = {"[::1]:8080", "[fd00:77::1]:9443", "[::1]:5353",
                                                  "[::]:9090", "[::1]:*"};
const std::vector<std::string> kV4HostPorts = {"127.0.0.1:8080", "127.0.0.2:8080", "10.77.0.1:7000",
                                               "127.0.0.1:*", "127.0.0.0/8:8081"};
const std::vector<std::string> kBarePorts = {":8080", ":9090", ":5353", ":7100", ":7200"};
const std::vector<std::string> kStars = {"*", "*:8080", "*:9090"};
const std::vector<std::string> kLocalhost = {"localhost", "localhost:8080"};

const std::vector<std::string> kMarks = {"0x10", "0x21", "16", "0x30", "0", "0x2f"};
const std::vector<std::string> kMaskedMarks = {"0x20/0xf0", "0x1/0x1",   "0x0/0xff",
                                               "0x10/0x10", "0x2f/0xff", "0/0"};

std::vector<std::string> split_ws(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

}  // namespace

uint32_t filter_seed() {
  if (const char* s = std::getenv("SSTRACE_FILTER_SEED"); s != nullptr && *s != '\0')
    return static_cast<uint32_t>(std::strtoul(s, nullptr, 0));
  return kDefaultSeed;
}

const std::vector<std::string>& required_constructs() {
  static const std::vector<std::string> v = [] {
    std::vector<std::string> r = {"and",
                                  "&",
                                  "&&",
                                  "or",
                                  "|",
                                  "||",
                                  "not",
                                  "!",
                                  "implied-and",
                                  "parens",
                                  "nested",
                                  "sport",
                                  "dport",
                                  "src",
                                  "dst",
                                  "port:number",
                                  "port:service",
                                  "addr:v4-host",
                                  "addr:v4-prefix",
                                  "addr:*",
                                  "addr:[v6]",
                                  "addr:[v6]:port",
                                  "addr:host:port",
                                  "addr::port",
                                  "addr:localhost",
                                  "state",
                                  "exclude",
                                  "states-repeated",
                                  "autobound",
                                  "dev:name",
                                  "dev:index",
                                  "dev:lo",
                                  "dev:1",
                                  "fwmark",
                                  "fwmark:mask",
                                  "cgroup",
                                  "-F",
                                  "one-word",
                                  "split-words"};
    for (const auto& op : kPortOps) r.push_back("op:" + (op.empty() ? "none" : op));
    for (const auto& s : kStateNames) r.push_back("state-name:" + s);
    return r;
  }();
  return v;
}

void count_constructs(const GeneratedFilter& f, std::map<std::string, int>& tally) {
  for (const auto& c : f.constructs) tally[c]++;
}

std::vector<std::string> GeneratedFilter::args(const std::string& file) const {
  std::vector<std::string> a = options;
  a.insert(a.end(), state_words.begin(), state_words.end());
  if (from_file) {
    a.push_back("-F");
    a.push_back(file);
  } else if (!expression.empty()) {
    if (split_words) {
      for (auto& w : split_ws(expression)) a.push_back(w);
    } else {
      a.push_back(expression);
    }
  }
  return a;
}

std::string GeneratedFilter::file_text() const {
  if (!file_multiline) return expression + "\n";
  // A word a line, after a comment: ss reads the file line by line and
  // joins them. It skips lines starting with '#' and, by a slip sstrace
  // copies, with '0': a word starting with '0' (fwmark 0x10, 0.0.0.0/0)
  // stays on the line before it.
  std::string out = "# a generated filter\n";
  const auto words = split_ws(expression);
  for (size_t i = 0; i < words.size(); ++i) {
    const bool next_starts_0 = i + 1 < words.size() && words[i + 1][0] == '0';
    out += words[i] + (next_starts_0 ? " " : "\n");
  }
  return out;
}

std::string GeneratedFilter::describe() const {
  std::string s = shell_join(args("FILE"));
  if (from_file)
    s += "   with FILE = '" + expression + "'" + (file_multiline ? " (a word a line)" : "");
  return s;
}

FilterGenerator::FilterGenerator(uint32_t seed, FilterWorldFacts facts)
    : rng_(seed), facts_(std::move(facts)) {
  // Several socket selections, each with the family ss reads addresses in.
  option_sets_ = {
      {{"-tan"}, AF_UNSPEC, true, true},
      {{"-an"}, AF_UNSPEC, true, true},
      {{"-tuan"}, AF_UNSPEC, true, true},
      {{"-uan"}, AF_UNSPEC, false, true},
      {{"-4", "-tan"}, AF_INET, true, false},
      {{"-6", "-tan"}, AF_INET6, true, false},
      {{"-4", "-uan"}, AF_INET, false, true},
      {{"-6", "-tuan"}, AF_INET6, true, true},
      {{"-tn"}, AF_UNSPEC, true, false},
      {{"-tln"}, AF_UNSPEC, true, false},
      // RAW alone (read from /proc here), and -A picking tables.
      {{"-wan"}, AF_UNSPEC, false, false},
      {{"-6", "-wan"}, AF_INET6, false, false},
      {{"-an", "-A", "raw,udp,unix"}, AF_UNSPEC, false, true},
  };
}

bool FilterGenerator::chance(double p) { return std::uniform_real_distribution<>(0, 1)(rng_) < p; }

size_t FilterGenerator::pick(size_t n) {
  return std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
}

GeneratedFilter FilterGenerator::next() {
  GeneratedFilter f;
  opts_ = &one_of(option_sets_);
  f.options = opts_->args;
  f.constructs.push_back("options:" + shell_join(f.options));
  if (chance(0.3)) state_prefix(f);
  // A filter of states alone now and then; otherwise an expression.
  if (f.state_words.empty() || chance(0.85)) f.expression = expr(0, f);
  if (!f.expression.empty()) {
    f.from_file = chance(0.15);
    if (f.from_file) {
      f.constructs.push_back("-F");
      f.file_multiline = chance(0.3);
    } else {
      f.split_words = chance(0.5);
      f.constructs.push_back(f.split_words ? "split-words" : "one-word");
    }
  }
  return f;
}

void FilterGenerator::state_prefix(GeneratedFilter& f) {
  const size_t n = 1 + pick(3);
  if (n > 1) f.constructs.push_back("states-repeated");
  for (size_t i = 0; i < n; ++i) {
    // `exclude` (or its abbreviation `excl`) now and then; ss reads names in any case.
    const bool exclude = chance(0.35);
    std::string name = one_of(kStateNames);
    f.constructs.push_back(exclude ? "exclude" : "state");
    f.constructs.push_back("state-name:" + name);
    if (chance(0.1)) {
      for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    f.state_words.push_back(exclude ? (chance(0.2) ? "excl" : "exclude") : "state");
    f.state_words.push_back(name);
  }
}

std::string FilterGenerator::expr(int depth, GeneratedFilter& f) {
  // Leaves get likelier with depth; at most three levels of nesting.
  const double compound_p = depth == 0 ? 0.65 : depth == 1 ? 0.4 : depth == 2 ? 0.2 : 0.0;
  if (!chance(compound_p)) return leaf(f);
  if (depth >= 1) f.constructs.push_back("nested");
  return compound(depth, f);
}

std::string FilterGenerator::compound(int depth, GeneratedFilter& f) {
  auto operand = [&] {
    std::string e = expr(depth + 1, f);
    // A compound operand is usually parenthesized (ss's and/or are equal in
    // precedence and left-associative, so unparenthesized is a different
    // tree but still a valid filter).
    if (e.find(' ') != std::string::npos && split_ws(e).size() > 3 && chance(0.75)) {
      f.constructs.push_back("parens");
      return "( " + e + " )";
    }
    return e;
  };
  if (chance(0.25)) {
    const std::string bang = chance(0.5) ? "not" : "!";
    f.constructs.push_back(bang);
    return bang + " " + operand();
  }
  static const std::vector<std::string> kJoins = {"and", "&", "&&", "or", "|", "||", ""};
  const std::string& join = one_of(kJoins);
  f.constructs.push_back(join.empty() ? "implied-and" : join);
  std::string left = operand();
  std::string right = operand();
  return left + " " + (join.empty() ? "" : join + " ") + right;
}

std::string FilterGenerator::leaf(GeneratedFilter& f) {
  const size_t r = pick(100);
  if (r < 35) return port_leaf(f);
  if (r < 72) return host_leaf(f);
  if (r < 78) {
    f.constructs.push_back("autobound");
    return "autobound";
  }
  if (r < 86) return dev_leaf(f);
  if (r < 94) return mark_leaf(f);
  return cgroup_leaf(f);
}

std::string FilterGenerator::port_leaf(GeneratedFilter& f) {
  const std::string side = chance(0.5) ? "sport" : "dport";
  f.constructs.push_back(side);
  const std::string& op = one_of(kPortOps);
  f.constructs.push_back("op:" + (op.empty() ? "none" : op));
  const bool comparison =
      op != "" && op != "=" && op != "==" && op != "eq" && op != "!=" && op != "ne" && op != "neq";
  return side + " " + (op.empty() ? "" : op + " ") + port_value(f, comparison);
}

std::string FilterGenerator::port_value(GeneratedFilter& f, bool for_comparison) {
  std::string port;
  // ss looks service names up in the listed tables' protocols only.
  if ((opts_->tcp || opts_->udp) && chance(0.2)) {
    f.constructs.push_back("port:service");
    port = opts_->tcp && chance(0.6) ? one_of(kServicesTcp) : one_of(kServicesBoth);
  } else {
    f.constructs.push_back("port:number");
    port = for_comparison && chance(0.5) ? one_of(kCompareBounds) : one_of(kWorldPorts);
  }
  // ss takes the port with or without its leading colon.
  return chance(0.8) ? ":" + port : port;
}

std::string FilterGenerator::host_leaf(GeneratedFilter& f) {
  const std::string side = chance(0.5) ? "src" : "dst";
  f.constructs.push_back(side);
  return side + " " + address(f);
}

std::string FilterGenerator::address(GeneratedFilter& f) {
  // Forms that can be written in the preferred family (-4: no IPv6, -6: no
  // IPv4 address; ss refuses those).
  std::vector<std::pair<std::string, const std::vector<std::string>*>> forms = {
      {"addr:*", &kStars}, {"addr::port", &kBarePorts}};
  if (opts_->family != AF_INET6) {
    // /etc/hosts gives localhost no IPv6 address here: ss -6 refuses it.
    forms.push_back({"addr:localhost", &kLocalhost});
    forms.push_back({"addr:v4-host", &kV4Hosts});
    forms.push_back({"addr:v4-prefix", &kV4Prefixes});
    forms.push_back({"addr:host:port", &kV4HostPorts});
  }
  if (opts_->family != AF_INET) {
    forms.push_back({"addr:[v6]", &kV6Brackets});
    forms.push_back({"addr:[v6]:port", &kV6BracketPorts});
  }
  const auto& [tag, values] = one_of(forms);
  f.constructs.push_back(tag);
  return one_of(*values);
}

std::string FilterGenerator::dev_leaf(GeneratedFilter& f) {
  // lo is index 1 in every namespace; the other device is the world's.
  const bool lo = chance(0.5);
  const bool by_index = chance(0.5);
  std::string value;
  if (lo) {
    value = by_index ? "1" : "lo";
    f.constructs.push_back(by_index ? "dev:1" : "dev:lo");
  } else {
    value = by_index ? std::to_string(facts_.dev_index) : facts_.dev_name;
  }
  f.constructs.push_back(by_index ? "dev:index" : "dev:name");
  static const std::vector<std::string> kOps = {"", "= ", "== ", "!= "};
  return "dev " + one_of(kOps) + value;
}

std::string FilterGenerator::mark_leaf(GeneratedFilter& f) {
  f.constructs.push_back("fwmark");
  const bool masked = chance(0.5);
  if (masked) f.constructs.push_back("fwmark:mask");
  static const std::vector<std::string> kOps = {"", "= ", "!= "};
  return "fwmark " + one_of(kOps) + (masked ? one_of(kMaskedMarks) : one_of(kMarks));
}

std::string FilterGenerator::cgroup_leaf(GeneratedFilter& f) {
  f.constructs.push_back("cgroup");
  // The child cgroup as absolute (from the cgroup2 mount), relative and
  // with a trailing slash, and the root.
  const std::vector<std::string> paths = {"/", "/" + facts_.cgroup, facts_.cgroup,
                                          "/" + facts_.cgroup + "/"};
  static const std::vector<std::string> kOps = {"", "= ", "!= "};
  return "cgroup " + one_of(kOps) + one_of(paths);
}

}  // namespace sstrace::e2e

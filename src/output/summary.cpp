#include "output/summary.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <vector>

#include "output/timestamps.h"

namespace sstrace::output {

namespace {

std::vector<std::string_view> split_words(std::string_view line) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

bool to_int(std::string_view w, int64_t& out) {
  auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), out);
  return ec == std::errc() && p == w.data() + w.size();
}

// "TCP: inuse 3 orphan 0 ..." -> the value after `key`, if any.
bool field(const std::vector<std::string_view>& words, std::string_view key, int64_t& out) {
  for (size_t i = 1; i + 1 < words.size(); i += 2)
    if (words[i] == key) return to_int(words[i + 1], out);
  return false;
}

template <typename F>
void for_each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    f(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

Result<std::string> slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) return sys_error("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

void parse_sockstat(std::string_view text, Summary& s) {
  for_each_line(text, [&](std::string_view line) {
    auto w = split_words(line);
    if (w.empty()) return;
    std::string_view id = w[0];
    if (id == "sockets:") {
      field(w, "used", s.sockets);
    } else if (id == "TCP:") {
      field(w, "inuse", s.tcp_inuse);
      field(w, "orphan", s.tcp_orphan);
      field(w, "tw", s.tcp_tw);
      field(w, "alloc", s.tcp_alloc);
      field(w, "mem", s.tcp_mem);
    } else if (id == "UDP:") {
      field(w, "inuse", s.udp);
    } else if (id == "RAW:") {
      field(w, "inuse", s.raw);
    } else if (id == "FRAG:") {
      field(w, "inuse", s.frag);
      field(w, "memory", s.frag_mem);
    } else if (id == "TCP6:") {
      field(w, "inuse", s.tcp6_inuse);
    } else if (id == "UDP6:") {
      field(w, "inuse", s.udp6);
    } else if (id == "RAW6:") {
      field(w, "inuse", s.raw6);
    } else if (id == "FRAG6:") {
      field(w, "inuse", s.frag6);
      field(w, "memory", s.frag6_mem);
    }
  });
}

Result<int64_t> parse_snmp_curr_estab(std::string_view text) {
  // Two "Tcp:" lines: the names, then the values in the same columns.
  std::vector<std::string_view> names;
  std::optional<int64_t> found;
  for_each_line(text, [&](std::string_view line) {
    if (found || line.substr(0, 4) != "Tcp:") return;
    auto w = split_words(line);
    if (names.empty()) {
      names = std::move(w);
      return;
    }
    for (size_t i = 1; i < names.size() && i < w.size(); ++i) {
      int64_t v = 0;
      if (names[i] == "CurrEstab" && to_int(w[i], v)) found = v;
    }
  });
  if (!found) return Error{"no Tcp CurrEstab in snmp", ESRCH};
  return *found;
}

Result<Summary> read_summary(const std::string& net_dir) {
  return read_summary(
      SummaryFiles{net_dir + "/sockstat", net_dir + "/sockstat6", net_dir + "/snmp"});
}

Result<Summary> read_summary(const SummaryFiles& files) {
  Summary s;
  auto sockstat = slurp(files.sockstat);
  if (!sockstat) return sockstat.error();
  parse_sockstat(*sockstat, s);
  if (auto sockstat6 = slurp(files.sockstat6)) parse_sockstat(*sockstat6, s);
  auto snmp = slurp(files.snmp);
  if (!snmp) return snmp.error();
  auto estab = parse_snmp_curr_estab(*snmp);
  if (!estab) return Error{estab.error().message + " (" + files.snmp + ")", estab.error().err};
  s.tcp_estab = *estab;
  return s;
}

std::string summary_text(const Summary& s) {
  std::string out;
  char line[160];
  auto add = [&](int n) { out.append(line, size_t(std::clamp(n, 0, int(sizeof line) - 1))); };
  auto row = [&](const char* name, int64_t v4, int64_t v6) {
    add(std::snprintf(line, sizeof line, "%s\t  %-9lld %-9lld %-9lld\n", name,
                      static_cast<long long>(v4 + v6), static_cast<long long>(v4),
                      static_cast<long long>(v6)));
  };
  add(std::snprintf(line, sizeof line, "Total: %lld\n", static_cast<long long>(s.sockets)));
  out += summary_tcp_line(s);
  out += "\nTransport Total     IP        IPv6\n";
  row("RAW", s.raw, s.raw6);
  row("UDP", s.udp, s.udp6);
  row("TCP", s.tcp_inuse, s.tcp6_inuse);
  row("INET", s.raw + s.udp + s.tcp_inuse, s.raw6 + s.udp6 + s.tcp6_inuse);
  row("FRAG", s.frag, s.frag6);
  out += "\n";
  return out;
}

std::string summary_tcp_line(const Summary& s) {
  char line[160];
  const int n = std::snprintf(
      line, sizeof line, "TCP:   %lld (estab %lld, closed %lld, orphaned %lld, timewait %lld)\n",
      static_cast<long long>(s.tcp_total()), static_cast<long long>(s.tcp_estab),
      static_cast<long long>(s.tcp_closed()), static_cast<long long>(s.tcp_orphan),
      static_cast<long long>(s.tcp_tw));
  return std::string(line, size_t(std::clamp(n, 0, int(sizeof line) - 1)));
}

void print_summary(std::FILE* out, const Summary& s) { std::fputs(summary_text(s).c_str(), out); }

void print_summary_json(std::FILE* out, const Summary& s, uint32_t netns) {
  std::fprintf(
      out, "%s\n",
      summary_json(s, netns, rfc3339_utc(std::chrono::system_clock::now())).dump().c_str());
}

namespace {

void add_header(nlohmann::ordered_json& j, const std::string& ts) {
  j["type"] = "summary";
  j["ts"] = ts;
  j["v"] = 1;
}

void add_tcp(nlohmann::ordered_json& j, const Summary& s) {
  j["tcp"] = {{"total", s.tcp_total()},
              {"estab", s.tcp_estab},
              {"closed", s.tcp_closed()},
              {"orphaned", s.tcp_orphan},
              {"timewait", s.tcp_tw}};
}

}  // namespace

nlohmann::ordered_json summary_json(const Summary& s, uint32_t netns, const std::string& ts) {
  auto split = [](int64_t v4, int64_t v6) {
    return nlohmann::ordered_json{{"total", v4 + v6}, {"ip", v4}, {"ipv6", v6}};
  };
  nlohmann::ordered_json j;
  add_header(j, ts);
  if (netns != 0) j["netns"] = netns;
  j["total"] = s.sockets;
  add_tcp(j, s);
  j["transport"] = {
      {"raw", split(s.raw, s.raw6)},
      {"udp", split(s.udp, s.udp6)},
      {"tcp", split(s.tcp_inuse, s.tcp6_inuse)},
      {"inet", split(s.raw + s.udp + s.tcp_inuse, s.raw6 + s.udp6 + s.tcp6_inuse)},
      {"frag", split(s.frag, s.frag6)},
  };
  return j;
}

nlohmann::ordered_json summary_tcp_json(const Summary& s, const std::string& ts) {
  nlohmann::ordered_json j;
  add_header(j, ts);
  add_tcp(j, s);
  return j;
}

}  // namespace sstrace::output

#include "cli/metrics_view.h"

#include "metrics/endpoint.h"
#include "metrics/metrics.h"
#include "sys/netns.h"

namespace sstrace::cli {

namespace {

// --all-netns's `netns` label: the ip-netns name of the namespace where
// /run/netns has one (the first, sorted, if several), else its inode.
std::string netns_label(uint32_t inode) {
  if (auto names = sys::list_netns())
    for (const std::string& name : *names) {
      auto fd = sys::open_netns(name);
      if (!fd) continue;
      auto ino = sys::netns_inode(fd->get());
      if (ino && *ino == inode) return name;
    }
  return std::to_string(inode);
}

metrics::MetricsOptions metrics_options(const LiveSetup& setup) {
  metrics::MetricsOptions o;
  o.peers = setup.opts.metrics_peers;
  o.netns_label = setup.opts.all_netns;
  o.netns_name = netns_label;
  o.version = SSTRACE_VERSION;
  return o;
}

class MetricsView final : public LiveView {
 public:
  explicit MetricsView(const LiveSetup& setup) : metrics_(metrics_options(setup)) {
    setup.metrics_endpoint->serve(metrics_.registry());
  }
  void on_event(const model::Event& e) override { metrics_.observe(e); }
  void on_tick(uint64_t now) override { metrics_.tick(now); }

 private:
  metrics::Metrics metrics_;
};

}  // namespace

std::unique_ptr<LiveView> make_metrics_view(const LiveSetup& setup) {
  return std::make_unique<MetricsView>(setup);
}

}  // namespace sstrace::cli

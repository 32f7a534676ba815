// OCI linux.resources → cgroups::Resources (a pure mapping).
#include "raind/droplet/runtime.hpp"

namespace raind::droplet {

cgroups::Resources to_cgroup_resources(const oci::Resources& r) {
  cgroups::Resources out;
  if (r.memory) {
    cgroups::MemoryLimits m;
    m.limit = r.memory->limit;
    m.reservation = r.memory->reservation;
    m.swap = r.memory->swap;
    m.swappiness = r.memory->swappiness;
    m.kernel_tcp = r.memory->kernel_tcp;
    m.disable_oom_killer = r.memory->disable_oom_killer;
    m.use_hierarchy = r.memory->use_hierarchy;
    m.check_before_update = r.memory->check_before_update;
    out.memory = m;
  }
  if (r.cpu) {
    cgroups::CpuLimits c;
    c.shares = r.cpu->shares;
    c.quota = r.cpu->quota;
    c.burst = r.cpu->burst;
    c.period = r.cpu->period;
    c.realtime_runtime = r.cpu->realtime_runtime;
    c.realtime_period = r.cpu->realtime_period;
    if (!r.cpu->cpus.empty()) c.cpus = r.cpu->cpus;
    if (!r.cpu->mems.empty()) c.mems = r.cpu->mems;
    c.idle = r.cpu->idle;
    out.cpu = c;
  }
  if (r.pids) out.pids = cgroups::PidsLimits{r.pids->limit};
  if (r.block_io) {
    cgroups::BlockIoLimits b;
    b.weight = r.block_io->weight;
    b.leaf_weight = r.block_io->leaf_weight;
    for (const auto& d : r.block_io->weight_device)
      b.weight_devices.push_back({d.major, d.minor, d.weight, d.leaf_weight});
    auto thr = [](const std::vector<oci::BlockIoDevice>& in) {
      std::vector<cgroups::ThrottleDevice> v;
      for (const auto& d : in) v.push_back({d.major, d.minor, d.rate});
      return v;
    };
    b.throttle_read_bps = thr(r.block_io->throttle_read_bps_device);
    b.throttle_write_bps = thr(r.block_io->throttle_write_bps_device);
    b.throttle_read_iops = thr(r.block_io->throttle_read_iops_device);
    b.throttle_write_iops = thr(r.block_io->throttle_write_iops_device);
    out.block_io = b;
  }
  for (const auto& h : r.hugepage_limits) out.hugepages.push_back({h.page_size, h.limit});
  for (const auto& d : r.devices) {
    cgroups::DeviceRule rule;
    rule.allow = d.allow;
    rule.type = d.type.empty() ? 'a' : d.type[0];
    rule.major = d.major;
    rule.minor = d.minor;
    rule.access = d.access.empty() ? "rwm" : d.access;
    out.devices.push_back(rule);
  }
  out.unified = r.unified;
  return out;
}

}  // namespace raind::droplet

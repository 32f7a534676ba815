#include <gtest/gtest.h>

#include "condenser/system/probe.hpp"

using namespace raind::condenser::system;

TEST(Probe, CgroupModes) {
  const std::string v2 =
      "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n";
  const std::string v1 =
      "31 23 0:27 / /sys/fs/cgroup/memory rw shared:5 - cgroup cgroup rw,memory\n"
      "32 23 0:28 / /sys/fs/cgroup/pids rw shared:6 - cgroup cgroup rw,pids\n";
  const std::string unified =
      "33 23 0:29 / /sys/fs/cgroup/unified rw shared:7 - cgroup2 cgroup2 rw\n";
  EXPECT_EQ(cgroup_mode_from_mountinfo(v2), "v2");
  EXPECT_EQ(cgroup_mode_from_mountinfo(v1), "v1");
  EXPECT_EQ(cgroup_mode_from_mountinfo(v1 + unified), "hybrid");
  EXPECT_EQ(cgroup_mode_from_mountinfo("22 1 8:1 / / rw - ext4 /dev/sda1 rw\n"), "none");
}

TEST(Probe, IptablesBackends) {
  EXPECT_EQ(iptables_backend_from_version("iptables v1.8.9 (nf_tables)\n"), "nf_tables");
  EXPECT_EQ(iptables_backend_from_version("iptables v1.8.9 (legacy)\n"), "legacy");
  EXPECT_EQ(iptables_backend_from_version("iptables v1.4.21\n"), "unknown");
}

TEST(Probe, AppArmorEnabledFile) {
  EXPECT_TRUE(apparmor_from_enabled("Y\n"));
  EXPECT_FALSE(apparmor_from_enabled("N\n"));
  EXPECT_FALSE(apparmor_from_enabled(""));
}

TEST(Probe, RealHostMatchesThisMachine) {
  auto facts = probe_host();
  EXPECT_FALSE(facts.cgroup_mode.empty());
  EXPECT_NE(facts.cgroup_mode, "unknown");
  EXPECT_FALSE(facts.kernel.empty());
}

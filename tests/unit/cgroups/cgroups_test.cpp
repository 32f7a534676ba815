// Pure parsing/resolution, and both backends against fixture cgroupfs directories.
#include <gtest/gtest.h>

#include <fstream>

#include "cgroups_internal.hpp"
#include "raind/cgroups/device_filter.hpp"
#include "raind/sys/files.hpp"

namespace raind::cgroups {
std::uint64_t shares_to_weight(std::uint64_t shares);
namespace {

// Real lines from this project's hybrid machines (v1 controllers + an empty unified hierarchy).
constexpr std::string_view kHybridMountinfo =
    "30 23 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755\n"
    "31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 "
    "cgroup2 rw,nsdelegate\n"
    "32 30 0:28 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup "
    "rw,xattr,name=systemd\n"
    "35 30 0:31 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:15 - cgroup cgroup rw,cpu,cpuacct\n"
    "36 30 0:32 / /sys/fs/cgroup/memory rw,nosuid shared:16 - cgroup cgroup rw,memory\n"
    "37 30 0:33 / /sys/fs/cgroup/pids rw,nosuid shared:17 - cgroup cgroup rw,pids\n"
    "38 30 0:34 / /sys/fs/cgroup/cpuset rw,nosuid shared:18 - cgroup cgroup rw,cpuset\n";
constexpr std::string_view kHybridSelf =
    "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n2:cpu,cpuacct:/\n3:cpuset:/\n0::/\n";
constexpr std::string_view kV2Mountinfo =
    "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";

TEST(CgroupLayout, HybridHostUsesV1WithOwnPaths) {
  auto layout = layout_from_text(kHybridMountinfo, kHybridSelf, "");
  ASSERT_TRUE(layout) << layout.error().what();
  EXPECT_EQ(layout->version, Version::v1);
  EXPECT_EQ(layout->unified_mount, "/sys/fs/cgroup/unified");
  EXPECT_EQ(layout->v1_mounts.at("memory"), "/sys/fs/cgroup/memory");
  EXPECT_EQ(layout->v1_mounts.at("cpuacct"), "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_FALSE(layout->v1_mounts.contains("systemd"));
  EXPECT_EQ(layout->self_paths.at("memory"), "/process_api/abc");
  EXPECT_EQ(layout->self_paths.at("cpuacct"), "/");
  EXPECT_EQ(layout->self_paths.at(""), "/");
}

TEST(CgroupLayout, PureV2Host) {
  auto layout = layout_from_text(kV2Mountinfo, "0::/user.slice/session-1.scope\n", "");
  ASSERT_TRUE(layout);
  EXPECT_EQ(layout->version, Version::v2);
  EXPECT_EQ(layout->self_paths.at(""), "/user.slice/session-1.scope");
}

TEST(CgroupLayout, NoCgroupsIsAnError) {
  EXPECT_FALSE(layout_from_text("", "", ""));
}

TEST(CgroupPath, Resolution) {
  EXPECT_EQ(*resolve_cgroup_path("", "/own", "abc"), "/own/droplet/abc");
  EXPECT_EQ(*resolve_cgroup_path("rel/ctr", "/own", "abc"), "/own/rel/ctr");
  EXPECT_EQ(*resolve_cgroup_path("rel/ctr", "/", "abc"), "/rel/ctr");
  EXPECT_EQ(*resolve_cgroup_path("/abs/ctr", "/own", "abc"), "/abs/ctr");
  EXPECT_EQ(*resolve_cgroup_path("machine.slice:libpod:abc", "/own", "abc"),
            "/machine.slice/libpod-abc.scope");
  auto bad = resolve_cgroup_path("../escape", "/own", "abc");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().what().find("contains '..'"), std::string::npos);
  EXPECT_FALSE(resolve_cgroup_path("/a/../../b", "/", "x"));
}

TEST(CgroupParse, FlatKeyedAndMax) {
  auto kv = parse_flat_keyed("nr_periods 10\nnr_throttled 3\nthrottled_time 55\n");
  EXPECT_EQ(kv["nr_periods"], 10u);
  EXPECT_EQ(kv["throttled_time"], 55u);
  EXPECT_EQ(parse_u64_or_max("max\n", 7), 7u);
  EXPECT_EQ(parse_u64_or_max("123\n"), 123u);
}

TEST(CgroupV2, SharesToWeight) {
  EXPECT_EQ(shares_to_weight(2), 1u);
  EXPECT_EQ(shares_to_weight(1024), 39u);
  EXPECT_EQ(shares_to_weight(262144), 10000u);
}

class FixtureTree : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/raind-cgfix-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  void touch(const std::filesystem::path& file, const std::string& content = "") {
    std::filesystem::create_directories(file.parent_path());
    std::ofstream(file) << content;
  }
  std::string read(const std::filesystem::path& file) {
    auto content = sys::read_file(file);
    return content ? *content : "<missing>";
  }
  std::filesystem::path root_;
};

TEST_F(FixtureTree, V2WritesEveryLimitInKernelFormat) {
  auto dir = root_ / "ctr";
  for (const char* f : {"memory.max", "memory.low", "memory.swap.max", "cpu.weight", "cpu.max",
                        "cpuset.cpus", "cpuset.mems", "pids.max", "io.weight", "io.max",
                        "hugetlb.2MB.max", "memory.high", "cgroup.procs"})
    touch(dir / f);
  auto mgr = make_v2_manager(dir);
  ASSERT_TRUE(mgr);
  Resources r;
  r.memory = MemoryLimits{.limit = 32 << 20, .reservation = 16 << 20, .swap = 48 << 20};
  r.cpu = CpuLimits{.shares = 1024, .quota = 20000, .period = 100000, .cpus = "0", .mems = "0"};
  r.pids = PidsLimits{.limit = 10};
  r.block_io = BlockIoLimits{};
  r.block_io->weight = 300;
  r.block_io->throttle_read_bps = {{8, 0, 1048576}};
  r.hugepages = {{"2MB", 0}};
  r.unified = {{"memory.high", "30M"}};
  auto st = (*mgr)->apply(r);
  ASSERT_TRUE(st) << st.error().what();
  EXPECT_EQ(read(dir / "memory.max"), std::to_string(32 << 20));
  EXPECT_EQ(read(dir / "memory.low"), std::to_string(16 << 20));
  EXPECT_EQ(read(dir / "memory.swap.max"), std::to_string(16 << 20));  // swap beyond the limit
  EXPECT_EQ(read(dir / "cpu.weight"), "39");
  EXPECT_EQ(read(dir / "cpu.max"), "20000 100000");
  EXPECT_EQ(read(dir / "cpuset.cpus"), "0");
  EXPECT_EQ(read(dir / "pids.max"), "10");
  EXPECT_EQ(read(dir / "io.weight"), "default 300");
  EXPECT_EQ(read(dir / "io.max"), "8:0 rbps=1048576");
  EXPECT_EQ(read(dir / "hugetlb.2MB.max"), "0");
  EXPECT_EQ(read(dir / "memory.high"), "30M");
  ASSERT_TRUE((*mgr)->add_process(1234));
  EXPECT_EQ(read(dir / "cgroup.procs"), "1234");
}

TEST_F(FixtureTree, V2UnlimitedValuesAndBadInput) {
  auto dir = root_ / "ctr";
  for (const char* f : {"memory.max", "cpu.max", "pids.max", "memory.swap.max"}) touch(dir / f);
  auto mgr = make_v2_manager(dir);
  Resources r;
  r.memory = MemoryLimits{.limit = -1};
  r.cpu = CpuLimits{.quota = -1, .period = 50000};
  r.pids = PidsLimits{.limit = -1};
  ASSERT_TRUE((*mgr)->apply(r));
  EXPECT_EQ(read(dir / "memory.max"), "max");
  EXPECT_EQ(read(dir / "cpu.max"), "max 50000");
  EXPECT_EQ(read(dir / "pids.max"), "max");

  Resources below;
  below.memory = MemoryLimits{.limit = 100, .swap = 50};
  auto st = (*mgr)->apply(below);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().what().find("below memory.limit"), std::string::npos);
  Resources escape;
  escape.unified = {{"../memory.max", "1"}};
  EXPECT_FALSE((*mgr)->apply(escape));
}

TEST_F(FixtureTree, V2StatsFromKernelFiles) {
  auto dir = root_ / "ctr";
  touch(dir / "cpu.stat",
        "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 4\nnr_throttled "
        "2\nthrottled_usec 30\n");
  touch(dir / "memory.current", "4096\n");
  touch(dir / "memory.max", "max\n");
  touch(dir / "memory.events", "low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n");
  touch(dir / "memory.stat", "anon 100\nfile 200\n");
  touch(dir / "pids.current", "3\n");
  touch(dir / "pids.max", "10\n");
  touch(dir / "io.stat", "8:0 rbytes=10 wbytes=20 rios=1 wios=2 dbytes=0 dios=0\n");
  auto mgr = make_v2_manager(dir);
  auto s = (*mgr)->stats();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->cpu.usage_total_ns, 1500000u);
  EXPECT_EQ(s->cpu.throttled_periods, 2u);
  EXPECT_EQ(s->memory.usage, 4096u);
  EXPECT_EQ(s->memory.cache, 200u);
  EXPECT_EQ(s->memory.oom_kill, 1u);
  EXPECT_EQ(s->pids.limit, 10u);
  ASSERT_EQ(s->blkio.io_service_bytes.size(), 2u);
  auto j = stats_to_runc_json(*s);
  EXPECT_EQ(j["cpu"]["usage"]["total"], 1500000u);
  EXPECT_EQ(j["memory"]["usage"]["usage"], 4096u);
  EXPECT_EQ(j["pids"]["current"], 3u);
  EXPECT_EQ(j["blkio"]["ioServiceBytesRecursive"][1]["op"], "Write");
}

TEST_F(FixtureTree, V1WritesPerControllerAndOrdersMemsw) {
  std::map<std::string, std::filesystem::path> dirs = {
      {"memory", root_ / "memory/ctr"},       {"cpu", root_ / "cpu,cpuacct/ctr"},
      {"cpuacct", root_ / "cpu,cpuacct/ctr"}, {"pids", root_ / "pids/ctr"},
      {"devices", root_ / "devices/ctr"},     {"freezer", root_ / "freezer/ctr"}};
  for (const char* f : {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes",
                        "memory.soft_limit_in_bytes", "memory.swappiness", "cgroup.procs"})
    touch(dirs["memory"] / f);
  for (const char* f : {"cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us", "cgroup.procs"})
    touch(dirs["cpu"] / f);
  touch(dirs["pids"] / "pids.max");
  touch(dirs["pids"] / "cgroup.procs");
  touch(dirs["devices"] / "devices.allow");
  touch(dirs["devices"] / "devices.deny");
  touch(dirs["devices"] / "cgroup.procs");
  touch(dirs["freezer"] / "cgroup.procs");
  auto mgr = make_v1_manager(dirs);
  ASSERT_TRUE(mgr);
  Resources r;
  r.memory =
      MemoryLimits{.limit = 64 << 20, .reservation = 32 << 20, .swap = 64 << 20, .swappiness = 0};
  r.cpu = CpuLimits{.shares = 512, .quota = 20000, .period = 100000};
  r.pids = PidsLimits{.limit = 0};
  r.devices = {{false, 'a', std::nullopt, std::nullopt, "rwm"}, {true, 'c', 1, 3, "rwm"}};
  auto st = (*mgr)->apply(r);
  ASSERT_TRUE(st) << st.error().what();
  EXPECT_EQ(read(dirs["memory"] / "memory.limit_in_bytes"), std::to_string(64 << 20));
  EXPECT_EQ(read(dirs["memory"] / "memory.memsw.limit_in_bytes"), std::to_string(64 << 20));
  EXPECT_EQ(read(dirs["memory"] / "memory.soft_limit_in_bytes"), std::to_string(32 << 20));
  EXPECT_EQ(read(dirs["cpu"] / "cpu.shares"), "512");
  EXPECT_EQ(read(dirs["cpu"] / "cpu.cfs_quota_us"), "20000");
  EXPECT_EQ(read(dirs["pids"] / "pids.max"), "max");
  // Plain files keep only the last write: the allow written after the deny.
  EXPECT_EQ(read(dirs["devices"] / "devices.deny"), "a *:* rwm");
  EXPECT_EQ(read(dirs["devices"] / "devices.allow"), "c 1:3 rwm");
  ASSERT_TRUE((*mgr)->add_process(42));
  // cpu and cpuacct share a directory: written once, present in each hierarchy.
  EXPECT_EQ(read(dirs["cpu"] / "cgroup.procs"), "42");
  EXPECT_EQ(read(dirs["pids"] / "cgroup.procs"), "42");

  Resources unified;
  unified.unified = {{"memory.high", "1"}};
  EXPECT_FALSE((*mgr)->apply(unified));
}

TEST_F(FixtureTree, V1StatsAndSerialisationRoundTrip) {
  std::map<std::string, std::filesystem::path> dirs = {
      {"memory", root_ / "m"}, {"pids", root_ / "p"}, {"cpuacct", root_ / "c"}};
  touch(dirs["memory"] / "memory.usage_in_bytes", "1000\n");
  touch(dirs["memory"] / "memory.limit_in_bytes", "33554432\n");
  touch(dirs["memory"] / "memory.failcnt", "5\n");
  touch(dirs["memory"] / "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
  touch(dirs["memory"] / "memory.stat", "cache 10\ntotal_cache 11\n");
  touch(dirs["pids"] / "pids.current", "4\n");
  touch(dirs["pids"] / "pids.max", "max\n");
  touch(dirs["cpuacct"] / "cpuacct.usage", "999\n");
  touch(dirs["cpuacct"] / "cpuacct.usage_percpu", "500 499 \n");
  auto mgr = make_v1_manager(dirs);
  auto s = (*mgr)->stats();
  ASSERT_TRUE(s);
  EXPECT_EQ(s->memory.limit, 33554432u);
  EXPECT_EQ(s->memory.oom_kill, 2u);
  EXPECT_EQ(s->memory.failcnt, 5u);
  EXPECT_EQ(s->memory.cache, 11u);
  EXPECT_EQ(s->pids.limit, 0u);
  EXPECT_EQ(s->cpu.percpu_ns, (std::vector<std::uint64_t>{500, 499}));
  auto again = load_manager((*mgr)->to_json());
  ASSERT_TRUE(again);
  EXPECT_EQ((*again)->primary_path(), dirs["memory"]);
  EXPECT_FALSE(load_manager(nlohmann::json{{"version", "v9"}}));
}

TEST(DeviceFilter, CompilesRulesLastFirstWithPatchedJumps) {
  // deny all, then allow c 1:3 rw
  auto prog = compile_device_filter(
      {{false, 'a', std::nullopt, std::nullopt, "rwm"}, {true, 'c', 1, 3, "rw"}});
  // 6 loads/alu + allow block (type, 3 access, major, minor, mov, exit = 8) + deny-all block
  // (mov, exit). The catch-all ends the program: a default after it would be unreachable.
  ASSERT_EQ(prog.size(), 6u + 8u + 2u);
  const bpf_insn& type_check = prog[6];
  EXPECT_EQ(type_check.code, BPF_JMP | BPF_JNE | BPF_K);
  EXPECT_EQ(type_check.imm, BPF_DEVCG_DEV_CHAR);
  EXPECT_EQ(type_check.off, 7);  // skips the rest of its 8-instruction block
  const bpf_insn& allow = prog[12];
  EXPECT_EQ(allow.code, BPF_ALU | BPF_MOV | BPF_K);
  EXPECT_EQ(allow.imm, 1);
  EXPECT_EQ(prog[14].imm, 0);  // the deny-all rule
  EXPECT_EQ(prog.back().code, BPF_JMP | BPF_EXIT);
  // Without a catch-all the program ends in an explicit default deny.
  auto only_allow = compile_device_filter({{true, 'c', 1, 3, "rwm"}});
  ASSERT_EQ(only_allow.size(), 6u + 5u + 2u);
  EXPECT_EQ(only_allow[only_allow.size() - 2].imm, 0);
}

}  // namespace
}  // namespace raind::cgroups

namespace raind::cgroups {
namespace {

// The default cgroupsPath (<own>/droplet/<id>) makes the runtime own the shared "droplet"
// level: deleting the last container removes it, a sibling keeps it.
TEST_F(FixtureTree, DefaultPathPrunesTheSharedParentWhenEmpty) {
  HostLayout layout;
  layout.version = Version::v2;
  layout.unified_mount = root_;
  layout.self_paths[""] = "/";
  auto a = make_manager(layout, "", "a");
  auto b = make_manager(layout, "", "b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE((*a)->create());
  ASSERT_TRUE((*b)->create());
  EXPECT_EQ((*a)->primary_path(), root_ / "droplet" / "a");
  ASSERT_TRUE((*a)->destroy());
  EXPECT_TRUE(std::filesystem::exists(root_ / "droplet")) << "b still lives there";
  auto b_again = load_manager((*b)->to_json());  // as `droplet delete` does from state.json
  ASSERT_TRUE(b_again);
  ASSERT_TRUE((*b_again)->destroy());
  EXPECT_FALSE(std::filesystem::exists(root_ / "droplet"));
  // An explicit cgroupsPath never touches its parent.
  auto c = make_manager(layout, "explicit/c", "c");
  ASSERT_TRUE((*c)->create());
  ASSERT_TRUE((*c)->destroy());
  EXPECT_TRUE(std::filesystem::exists(root_ / "explicit"));
}

}  // namespace
}  // namespace raind::cgroups

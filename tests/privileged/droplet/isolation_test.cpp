// Isolation features asserted from inside real containers: namespaces, user mappings, mounts
// (read-only binds, masked/readonly paths, tmpfs options, symlink-safe destinations), devices,
// rlimits, sysctl, read-only root, --no-pivot and the console socket.
#include <sys/socket.h>
#include <sys/un.h>

#include "droplet_fixture.hpp"

namespace droplet_test {
namespace {

class Isolation : public DropletTest {
 protected:
  std::string host_ns(const char* name) {
    return fs::read_symlink(fs::path("/proc/self/ns") / name).string();
  }
};

TEST_F(Isolation, PidUtsIpcNetNamespaces) {
  write_config(
      {"sh", "-c", "echo $$; hostname; for n in net uts ipc; do readlink /proc/self/ns/$n; done"});
  auto r = run_container("ns1");
  ASSERT_EQ(r.code, 0) << r.err;
  std::istringstream in(r.out);
  std::string pid, hostname, net, uts, ipc;
  in >> pid >> hostname >> net >> uts >> ipc;
  EXPECT_EQ(pid, "1");
  EXPECT_EQ(hostname, "droplet-test");
  EXPECT_NE(net, host_ns("net"));
  EXPECT_NE(uts, host_ns("uts"));
  EXPECT_NE(ipc, host_ns("ipc"));
}

TEST_F(Isolation, UserNamespaceWithRealMapping) {
  auto c = default_config({});
  c["linux"]["namespaces"].push_back({{"type", "user"}});
  c["linux"]["uidMappings"] =
      json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  c["linux"]["gidMappings"] =
      json::array({{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}});
  // The image belongs to the mapped root, as an unpacker would leave it; the bundle's parents
  // must be searchable by that uid.
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
  auto chown = run_cmd({"chown", "-R", "-h", "100000:100000", (bundle_ / "rootfs").string()});
  ASSERT_EQ(chown.code, 0) << chown.err;
  write_config({"sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u; touch /tmp/made"},
               c);
  auto r = run_container("u1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("0     100000      65536"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\n0\n"), std::string::npos) << r.out;
  struct stat st {};
  ASSERT_EQ(stat((bundle_ / "rootfs/tmp/made").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 100000u);
  EXPECT_EQ(st.st_gid, 100000u);
}

TEST_F(Isolation, ReadOnlyBindRefusesWrites) {
  auto share = dir_ / "share";
  fs::create_directories(share);
  write_text(share / "data", "host\n");
  auto c = default_config({});
  c["mounts"].push_back({{"destination", "/ro"},
                         {"type", "bind"},
                         {"source", share.string()},
                         {"options", {"bind", "ro"}}});
  c["mounts"].push_back({{"destination", "/rw"},
                         {"type", "none"},
                         {"source", share.string()},
                         {"options", {"rbind", "nosuid"}}});
  write_config({"sh", "-c",
                "cat /ro/data; if touch /ro/x 2>/dev/null; then echo ro-writable; fi;"
                "touch /rw/y && echo rw-ok; grep ' /ro ' /proc/mounts"},
               c);
  auto r = run_container("b1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("host"), std::string::npos);
  EXPECT_EQ(r.out.find("ro-writable"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rw-ok"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find(" ro,"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(share / "x"));
  EXPECT_TRUE(fs::exists(share / "y"));
}

TEST_F(Isolation, MaskedAndReadonlyPaths) {
  fs::create_directories(bundle_ / "rootfs/secretdir");
  write_text(bundle_ / "rootfs/secretdir/key", "topsecret\n");
  write_text(bundle_ / "rootfs/etc/secret", "topsecret\n");
  fs::create_directories(bundle_ / "rootfs/data");
  auto c = default_config({});
  c["linux"]["maskedPaths"].push_back("/etc/secret");
  c["linux"]["maskedPaths"].push_back("/secretdir");
  c["linux"]["maskedPaths"].push_back("/does/not/exist");
  c["linux"]["readonlyPaths"].push_back("/data");
  write_config(
      {"sh", "-c",
       "cat /etc/secret; ls /secretdir; if touch /data/x 2>/dev/null; then echo data-writable; fi;"
       "if echo 1 > /proc/sys/vm/overcommit_memory 2>/dev/null; then echo sys-writable; fi; echo "
       "done"},
      c);
  auto r = run_container("m1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.find("topsecret"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("key"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("data-writable"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("sys-writable"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("done"), std::string::npos);
}

TEST_F(Isolation, TmpfsOptionsAreApplied) {
  auto c = default_config({});
  c["mounts"].push_back({{"destination", "/scratch"},
                         {"type", "tmpfs"},
                         {"source", "tmpfs"},
                         {"options", {"nosuid", "nodev", "noexec", "size=1m", "mode=700"}}});
  write_config({"sh", "-c", "grep ' /scratch ' /proc/mounts; stat -c %a /scratch"}, c);
  auto r = run_container("t1");
  ASSERT_EQ(r.code, 0) << r.err;
  for (auto opt : {"nosuid", "nodev", "noexec", "size=1024k", "mode=700"})
    EXPECT_NE(r.out.find(opt), std::string::npos) << opt << " missing in " << r.out;
  EXPECT_NE(r.out.find("\n700"), std::string::npos) << r.out;
}

TEST_F(Isolation, SymlinkPlantedDestinationStaysInsideRootfs) {
  auto outside = dir_ / "outside";
  fs::create_directories(outside);
  auto src = dir_ / "src";
  fs::create_directories(src);
  write_text(src / "marker", "inside\n");
  // The image plants /evil → an absolute host path and /up → ../../../.. to climb out.
  fs::create_symlink(outside, bundle_ / "rootfs/evil");
  fs::create_symlink("../../../../../../..", bundle_ / "rootfs/up");
  auto c = default_config({});
  c["mounts"].push_back({{"destination", "/evil/sub"},
                         {"type", "bind"},
                         {"source", src.string()},
                         {"options", {"bind"}}});
  c["mounts"].push_back({{"destination", "/up" + outside.string() + "/tmpfs"},
                         {"type", "tmpfs"},
                         {"source", "tmpfs"},
                         {"options", {"size=1m"}}});
  write_config({"sh", "-c", "cat /evil/sub/marker"}, c);
  auto r = run_container("s1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "inside\n");
  // Nothing was created or mounted at the host path the symlinks point to.
  EXPECT_FALSE(fs::exists(outside / "sub"));
  EXPECT_FALSE(fs::exists(outside / "tmpfs"));
  EXPECT_TRUE(fs::exists(bundle_ / "rootfs" / outside.relative_path() / "sub"));
  expect_no_leftovers("s1");
}

TEST_F(Isolation, DefaultAndSpecDevices) {
  auto c = default_config({});
  c["linux"]["devices"] = json::array({{{"path", "/dev/mynull"},
                                        {"type", "c"},
                                        {"major", 1},
                                        {"minor", 3},
                                        {"fileMode", 0600},
                                        {"uid", 1},
                                        {"gid", 2}}});
  write_config(
      {"sh", "-c",
       "stat -c '%n %t:%T %a %u:%g' /dev/null /dev/zero /dev/mynull; echo x > /dev/null && "
       "echo null-ok; head -c 4 /dev/zero | wc -c; readlink /dev/ptmx; readlink /dev/fd;"
       "if echo x > /dev/full 2>/dev/null; then echo full-wrote; fi"},
      c);
  auto r = run_container("dv1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("/dev/null 1:3 666 0:0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/zero 1:5 666"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("/dev/mynull 1:3 600 1:2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("null-ok"), std::string::npos);
  EXPECT_NE(r.out.find("pts/ptmx"), std::string::npos);
  EXPECT_NE(r.out.find("/proc/self/fd"), std::string::npos);
  EXPECT_EQ(r.out.find("full-wrote"), std::string::npos);
}

TEST_F(Isolation, RlimitsAreApplied) {
  auto c = default_config({});
  c["process"]["rlimits"] =
      json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 512}, {"soft", 256}}});
  write_config({"sh", "-c", "ulimit -n; ulimit -Hn"}, c);
  auto r = run_container("rl1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "256\n512\n");
}

TEST_F(Isolation, CapabilitiesSeccompNoNewPrivs) {
  auto c = default_config({});
  c["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"architectures", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}},
      {"syscalls",
       {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
  write_config({"sh", "-c",
                "grep -E '^(CapEff|CapBnd|CapPrm|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status;"
                "mkdir /tmp/denied 2>&1; echo mkdir=$?"},
               c);
  auto r = run_container("sec1");
  ASSERT_EQ(r.code, 0) << r.err;
  // CAP_KILL(5) | CAP_NET_BIND_SERVICE(10) | CAP_AUDIT_WRITE(29)
  EXPECT_NE(r.out.find("CapEff:\t0000000020000420"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapBnd:\t0000000020000420"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapAmb:\t0000000020000420"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NoNewPrivs:\t1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seccomp:\t2"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Operation not permitted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("mkdir=1"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(bundle_ / "rootfs/tmp/denied"));
}

TEST_F(Isolation, SysctlAndReadonlyRoot) {
  auto c = default_config({});
  c["linux"]["sysctl"] = {{"net.ipv4.ip_forward", "1"}};
  c["root"]["readonly"] = true;
  write_config({"sh", "-c",
                "cat /proc/sys/net/ipv4/ip_forward; if touch /newfile 2>/dev/null; then echo "
                "root-writable; fi;"
                "touch /dev/shm/ok && echo shm-ok"},
               c);
  auto r = run_container("sc1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("1\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("root-writable"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shm-ok"), std::string::npos) << r.out;
}

TEST_F(Isolation, NoPivotRuns) {
  write_config({"sh", "-c", "echo $$; cat /etc/passwd | head -1"});
  auto r = run_container("np1", {"--no-pivot"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "1\nroot:x:0:0:root:/root:/bin/sh\n");
}

TEST_F(Isolation, ConsoleSocketReceivesPtyMaster) {
  auto sock_path = dir_ / "console.sock";
  int lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(lsock, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, sock_path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(bind(lsock, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(lsock, 1), 0);
  auto c = default_config({});
  c["process"]["terminal"] = true;
  write_config({"sh"}, c);
  Result created;
  std::thread creator([&] {
    created = droplet(
        {"create", "--bundle", bundle_.string(), "--console-socket", sock_path.string(), "tty1"});
  });
  int conn = accept4(lsock, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(conn, 0);
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ASSERT_GT(recvmsg(conn, &msg, MSG_CMSG_CLOEXEC), 0);
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  ASSERT_NE(cm, nullptr);
  int master;
  std::memcpy(&master, CMSG_DATA(cm), sizeof master);
  creator.join();
  ASSERT_EQ(created.code, 0) << created.err;
  ASSERT_EQ(droplet({"start", "tty1"}).code, 0);
  std::string cmd = "echo tty-$((40+2)); tty; exit\n";
  ASSERT_EQ(write(master, cmd.data(), cmd.size()), static_cast<ssize_t>(cmd.size()));
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    ssize_t n = read(master, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, n);
    if (out.find("tty-42") != std::string::npos && out.find("/dev/pts/") != std::string::npos)
      break;
  }
  EXPECT_NE(out.find("tty-42"), std::string::npos) << out;
  EXPECT_NE(out.find("/dev/pts/0"), std::string::npos) << out;
  close(master);
  close(conn);
  close(lsock);
  droplet({"delete", "-f", "tty1"});
}

TEST_F(Isolation, TimeNamespaceOffsets) {
  if (!fs::exists("/proc/self/ns/time")) GTEST_SKIP() << "kernel without time namespaces";
  auto c = default_config({});
  c["linux"]["namespaces"].push_back({{"type", "time"}});
  c["linux"]["timeOffsets"] = {{"boottime", {{"secs", 1000000}, {"nanosecs", 0}}}};
  write_config({"cat", "/proc/uptime"}, c);
  auto r = run_container("tn1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_GT(std::stod(r.out), 1000000.0) << r.out;
}

TEST_F(Isolation, JoinsNamespaceByPath) {
  // A helper process owns a network and a UTS namespace; the container joins both by path.
  auto helper = run_cmd({"sh", "-c", "unshare --net --uts sleep 30 >/dev/null 2>&1 & echo $!"});
  int hpid = std::stoi(helper.out);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto net = fs::read_symlink("/proc/" + std::to_string(hpid) + "/ns/net").string();
  auto c = default_config({});
  for (auto& ns : c["linux"]["namespaces"]) {
    if (ns["type"] == "network") ns["path"] = "/proc/" + std::to_string(hpid) + "/ns/net";
    if (ns["type"] == "uts") ns["path"] = "/proc/" + std::to_string(hpid) + "/ns/uts";
  }
  c.erase("hostname");
  write_config({"sh", "-c", "readlink /proc/self/ns/net; echo $$"}, c);
  auto r = run_container("jn1");
  kill(hpid, SIGKILL);
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, net + "\n1\n");
}

TEST_F(Isolation, PreservedAndSocketActivationFds) {
  write_config({"sh", "-c", "cat <&3; echo LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID"});
  write_text(dir_ / "fd3", "passed-fd\n");
  auto r =
      run_cmd({"sh", "-c",
               "exec 3<" + (dir_ / "fd3").string() + "; exec " + droplet_binary() + " --root " +
                   root_.string() + " run --preserve-fds 1 --bundle " + bundle_.string() + " pf1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("passed-fd"), std::string::npos) << r.out;
  r = run_cmd({"sh", "-c",
               "exec 3<" + (dir_ / "fd3").string() + "; LISTEN_FDS=1 exec " + droplet_binary() +
                   " --root " + root_.string() + " run --bundle " + bundle_.string() + " pf2"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.out.find("passed-fd"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("LISTEN_FDS=1 LISTEN_PID=1"), std::string::npos) << r.out;
}

TEST_F(Isolation, PersonalityAndSharedRootPropagation) {
  auto c = default_config({});
  c["linux"]["personality"] = {{"domain", "LINUX32"}};
  c["linux"]["rootfsPropagation"] = "rshared";
  write_config({"sh", "-c", "uname -m; awk '$5 == \"/\"' /proc/self/mountinfo"}, c);
  auto r = run_container("ps1");
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.substr(0, 5), "i686\n") << r.out;
  EXPECT_NE(r.out.find("shared:"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace droplet_test

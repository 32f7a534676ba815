// Daemon lifecycle: sd_notify READY/STOPPING, SIGTERM drain, SIGHUP reload, strict config,
// directory modes, unix socket cleanup.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <fstream>

#include "harness.hpp"
#include "raind/unique_fd.hpp"

using namespace raind::testing;

namespace {

unsigned mode_of(const std::filesystem::path& p) {
  struct stat st {};
  if (stat(p.c_str(), &st) != 0) return 0;
  return st.st_mode & 07777;
}

// A datagram socket standing in for systemd's notify socket.
struct NotifySocket {
  raind::UniqueFd fd;
  std::string path;
  explicit NotifySocket(const std::filesystem::path& dir) {
    path = (dir / "notify.sock").string();
    fd.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    timeval tv{5, 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  std::string receive() {
    char buf[4096];
    ssize_t n = recv(fd.get(), buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
  }
};

}  // namespace

TEST(Lifecycle, NotifiesSystemdAndDrainsOnSigterm) {
  TempDir dir("life");
  NotifySocket notify(dir.path());
  Daemon daemon(dir.path());
  ASSERT_TRUE(daemon.start({"NOTIFY_SOCKET=" + notify.path, "WATCHDOG_USEC=200000"}))
      << daemon.output();
  std::string ready;
  for (int i = 0; i < 5 && ready.find("READY=1") == std::string::npos; ++i)
    ready = notify.receive();
  EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
  std::string watchdog;
  for (int i = 0; i < 5 && watchdog.find("WATCHDOG=1") == std::string::npos; ++i)
    watchdog = notify.receive();
  EXPECT_NE(watchdog.find("WATCHDOG=1"), std::string::npos);

  // Modes the spec asks for.
  EXPECT_EQ(mode_of(dir.path() / "state"), 0700u);
  EXPECT_EQ(mode_of(dir.path() / "log"), 0750u);
  EXPECT_EQ(mode_of(dir.path() / "pki"), 0700u);
  EXPECT_EQ(mode_of(dir.path() / "pki/cli.key"), 0600u);
  EXPECT_EQ(mode_of(dir.path() / "log/raind_audit.jsonl") & 0777, 0640u);
  ASSERT_TRUE(std::filesystem::exists(daemon.hooks_socket()));

  kill(daemon.pid(), SIGTERM);
  std::string stopping;
  for (int i = 0; i < 20 && stopping.find("STOPPING=1") == std::string::npos; ++i)
    stopping = notify.receive();
  EXPECT_NE(stopping.find("STOPPING=1"), std::string::npos);
  EXPECT_EQ(daemon.terminate(), 0);
  EXPECT_FALSE(std::filesystem::exists(daemon.hooks_socket()));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "run/listeners.json"));
}

TEST(Lifecycle, SighupReloadsLimits) {
  TempDir dir("hup");
  Daemon daemon(dir.path(), "limits:\n  body_bytes: 1048576\n");
  ASSERT_TRUE(daemon.start()) << daemon.output();
  const std::string ca = daemon.ca_pem();
  const auto cli = daemon.cli_identity();
  // Shrink the default body limit for routes without their own limit and reload.
  {
    std::ofstream cfg(daemon.config_path(), std::ios::app);
    cfg << "log_dir_unused_marker: 1\n";
  }
  kill(daemon.pid(), SIGHUP);  // invalid config: kept running with the old one
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto r = call({daemon.management(), {}}, cli, ca, "GET", "/v1/system/info");
  EXPECT_EQ(r.status, 200u) << r.error;
  EXPECT_NE(daemon.output().find("unknown key 'log_dir_unused_marker'"), std::string::npos);

  std::string text;
  {
    std::ifstream in(daemon.config_path());
    std::stringstream s;
    s << in.rdbuf();
    text = s.str();
  }
  text = text.substr(0, text.find("limits:")) + "limits:\n  header_bytes: 1024\n";
  std::ofstream(daemon.config_path()) << text;
  kill(daemon.pid(), SIGHUP);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto big =
      exchange({daemon.management(), {}}, cli, ca,
               "GET /v1/system/info HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(2000, 'p') +
                   "\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(big.response) << big.error;
  EXPECT_EQ(big.status, 431u) << "header limit from the reloaded config applies";
  EXPECT_EQ(daemon.terminate(), 0);
}

TEST(Lifecycle, UnknownConfigKeyFailsStartWithLineAndColumn) {
  TempDir dir("badcfg");
  Daemon daemon(dir.path(), "limits:\n  max_conections: 5\n");
  EXPECT_FALSE(daemon.start());
  const std::string out = daemon.output();
  EXPECT_NE(out.find(":11:3: unknown key 'limits.max_conections'"), std::string::npos) << out;
}

TEST(Lifecycle, ConnectionLimitRefusesExtraConnections) {
  TempDir dir("connlimit");
  Daemon daemon(dir.path(), "limits:\n  max_connections: 2\n");
  ASSERT_TRUE(daemon.start()) << daemon.output();
  const std::string ca = daemon.ca_pem();
  const auto cli = daemon.cli_identity();
  // Two slow clients occupy both slots (partial requests), a third is refused.
  std::vector<std::thread> slow;
  for (int i = 0; i < 2; ++i)
    slow.emplace_back([&] {
      exchange({daemon.management(), {}}, cli, ca, "GET /v1/system/info HTTP/1.1\r\n",
               std::chrono::seconds(4));
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto third = call({daemon.management(), {}}, cli, ca, "GET", "/v1/system/info");
  EXPECT_FALSE(third.response) << "status " << third.status;
  for (auto& t : slow) t.join();
  auto after = call({daemon.management(), {}}, cli, ca, "GET", "/v1/system/info");
  EXPECT_EQ(after.status, 200u) << after.error;
}

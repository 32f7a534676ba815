// The TTY shim driven like a user: create with --tty-shim, attach through the unix socket with
// a small client speaking the attach framing, type, resize, detach, reattach, read the console
// log; the container outlives the creating process and the shim records its exit status.
#include <sys/socket.h>
#include <sys/un.h>

#include "ext_fixture.hpp"
#include "raind/attach_frame.hpp"

namespace droplet_test {
namespace {

// A minimal attach client: frames typed input and resizes, collects raw output.
class AttachClient {
 public:
  explicit AttachClient(const fs::path& socket_path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket_path.c_str(), sizeof addr.sun_path - 1);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  }
  ~AttachClient() { close(); }
  AttachClient(const AttachClient&) = delete;
  AttachClient& operator=(const AttachClient&) = delete;
  bool connected() const { return connected_; }
  void type(const std::string& text) { send_all(raind::attach::encode_data(text)); }
  void resize(std::uint16_t rows, std::uint16_t cols) {
    send_all(raind::attach::encode_resize(rows, cols));
  }
  // Reads until `needle` shows up in the output (true) or the peer closes / time runs out.
  bool read_until(const std::string& needle, int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (output_.find(needle) == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n <= 0) {
        eof_ = true;
        return false;
      }
      output_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  bool saw_eof(int timeout_ms = 3000) {
    read_until("\x01never\x02", timeout_ms);
    return eof_;
  }
  const std::string& output() const { return output_; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  void send_all(const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<std::size_t>(n);
    }
  }
  int fd_ = -1;
  bool connected_ = false;
  bool eof_ = false;
  std::string output_;
};

class TtyShim : public ExtTest {
 protected:
  fs::path state_dir(const std::string& id) { return root_ / id; }
  json terminal_config(const std::vector<std::string>& args) {
    auto c = default_config(args);
    c["process"]["terminal"] = true;
    return c;
  }
  // The shim's exit record, once written.
  json wait_exit_status(const std::string& id) {
    auto path = state_dir(id) / "exit.json";
    for (int i = 0; i < 250 && !fs::exists(path); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    auto j = json::parse(read_text(path), nullptr, false);
    return j.is_discarded() ? json() : j;
  }
};

TEST_F(TtyShim, AttachTypeResizeDetachReattach) {
  write_config({"sh"}, terminal_config({"sh"}));
  // The creating process exits; the container stays, owned by the shim.
  auto r = droplet({"create", "--tty-shim", "-b", bundle_.string(), "sh1"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(droplet({"start", "sh1"}).code, 0);
  EXPECT_EQ(state_of("sh1")["status"], "running");
  auto sock = state_dir("sh1") / "attach.sock";
  ASSERT_TRUE(fs::exists(sock));

  {
    AttachClient c(sock);
    ASSERT_TRUE(c.connected());
    c.resize(40, 100);
    c.type("echo hel''lo; stty size\n");
    EXPECT_TRUE(c.read_until("hello\r\n")) << c.output();
    EXPECT_TRUE(c.read_until("40 100")) << c.output();
    c.resize(25, 132);
    c.type("stty size\n");
    EXPECT_TRUE(c.read_until("25 132")) << c.output();
  }  // detach: the container keeps running
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(state_of("sh1")["status"], "running");

  AttachClient again(sock);
  ASSERT_TRUE(again.connected());
  again.type("echo back-again\n");
  EXPECT_TRUE(again.read_until("back-again\r\n")) << again.output();
  // A second client replaces the first, which sees EOF.
  AttachClient newer(sock);
  ASSERT_TRUE(newer.connected());
  EXPECT_TRUE(again.saw_eof());
  newer.type("echo newest\n");
  EXPECT_TRUE(newer.read_until("newest\r\n")) << newer.output();

  auto log = read_text(state_dir("sh1") / "console.log");
  EXPECT_NE(log.find("hello"), std::string::npos) << log;
  EXPECT_NE(log.find("back-again"), std::string::npos) << log;

  newer.type("exit 3\n");
  auto status = wait_exit_status("sh1");
  EXPECT_EQ(status.value("exit_code", -1), 3) << status.dump();
  EXPECT_EQ(state_of("sh1")["status"], "stopped");
  EXPECT_FALSE(fs::exists(sock)) << "the shim removes its socket when the container exits";
  EXPECT_EQ(droplet({"delete", "sh1"}).code, 0);
}

TEST_F(TtyShim, MalformedFramesDropOnlyThatClient) {
  write_config({"sh"}, terminal_config({"sh"}));
  ASSERT_EQ(droplet({"create", "--tty-shim", "-b", bundle_.string(), "sh2"}).code, 0);
  ASSERT_EQ(droplet({"start", "sh2"}).code, 0);
  auto sock = state_dir("sh2") / "attach.sock";
  {
    std::string junk("\x42\x00\x00\x00\x01x", 6);  // type 0x42 does not exist
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, sock.c_str(), sizeof addr.sun_path - 1);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL), 6);
    // Output sent before the bad frame was read (the prompt) may come first; then EOF.
    bool eof = false;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (!eof && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) != 1) continue;
      char buf[256];
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) eof = true;
    }
    EXPECT_TRUE(eof) << "the shim closes a client that sends an unknown frame";
    ::close(fd);
  }
  AttachClient good(sock);
  ASSERT_TRUE(good.connected());
  good.type("echo still-serving\n");
  EXPECT_TRUE(good.read_until("still-serving\r\n")) << good.output();
  EXPECT_EQ(droplet({"kill", "sh2", "KILL"}).code, 0);
  auto status = wait_exit_status("sh2");
  EXPECT_EQ(status.value("signal", 0), 9) << status.dump();
  EXPECT_EQ(droplet({"delete", "sh2"}).code, 0);
}

TEST_F(TtyShim, NonTerminalOutputGoesToInitLog) {
  std::vector<std::string> args = {"sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 4"};
  auto c = default_config(args);
  c["annotations"]["io.raind.tty"] = "shim";  // condenserd's way to ask for the shim
  write_config(args, c);
  ASSERT_EQ(droplet({"create", "-b", bundle_.string(), "sh3"}).code, 0);
  ASSERT_EQ(droplet({"start", "sh3"}).code, 0);
  auto status = wait_exit_status("sh3");
  EXPECT_EQ(status.value("exit_code", -1), 4) << status.dump();
  auto log = read_text(state_dir("sh3") / "init.log");
  EXPECT_NE(log.find("to-stdout"), std::string::npos) << log;
  EXPECT_NE(log.find("to-stderr"), std::string::npos) << log;
  EXPECT_EQ(droplet({"delete", "sh3"}).code, 0);
}

// The shim ignores TERM, INT, HUP and PIPE and blocks CHLD for itself; the container process it
// launches starts with none of that (a shell's TERM trap works, so a stop can be graceful).
TEST_F(TtyShim, ContainerStartsWithDefaultSignalDispositions) {
  std::vector<std::string> args = {
      "sh", "-c",
      "grep -E '^Sig(Blk|Ign)' /proc/self/status; trap 'echo trapped; exit 0' TERM; "
      "kill -TERM $$; echo not-trapped; exit 1"};
  auto c = default_config(args);
  c["annotations"]["io.raind.tty"] = "shim";
  write_config(args, c);
  ASSERT_EQ(droplet({"create", "-b", bundle_.string(), "sh5"}).code, 0);
  ASSERT_EQ(droplet({"start", "sh5"}).code, 0);
  auto status = wait_exit_status("sh5");
  auto log = read_text(state_dir("sh5") / "init.log");
  EXPECT_EQ(status.value("exit_code", -1), 0) << status.dump() << log;
  EXPECT_NE(log.find("\ntrapped"), std::string::npos) << log;
  EXPECT_EQ(log.find("not-trapped"), std::string::npos) << log;
  EXPECT_NE(log.find("SigBlk:\t0000000000000000"), std::string::npos) << log;
  // Signals 1-31 not ignored (glibc's own real-time ones, 32 and 33, may be).
  const auto ign = log.find("SigIgn:\t");
  ASSERT_NE(ign, std::string::npos) << log;
  const auto mask = std::stoull(log.substr(ign + 8, 16), nullptr, 16);
  EXPECT_EQ(mask & 0x7fffffffULL, 0u) << log;
  EXPECT_EQ(droplet({"delete", "sh5"}).code, 0);
}

// exec --tty --tty-shim: the exec session gets its own shim and socket, found by its pid.
TEST_F(TtyShim, ExecSessionUnderItsOwnShim) {
  write_config({"sleep", "100"});
  ASSERT_EQ(droplet({"run", "-d", "-b", bundle_.string(), "sh4"}).code, 0);
  auto pid_file = dir_ / "exec.pid";
  auto r = droplet({"exec", "--tty", "--tty-shim", "--pid-file", pid_file.string(), "sh4", "sh"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto pid = read_text(pid_file);
  ASSERT_FALSE(pid.empty());
  auto sock = state_dir("sh4") / ("exec-" + pid + ".sock");
  ASSERT_TRUE(fs::exists(sock)) << sock;
  AttachClient c(sock);
  ASSERT_TRUE(c.connected());
  c.resize(30, 90);
  c.type("echo in-exec $(hostname); stty size\n");
  EXPECT_TRUE(c.read_until("in-exec droplet-test")) << c.output();
  EXPECT_TRUE(c.read_until("30 90")) << c.output();
  c.type("exit 5\n");
  auto status_path = state_dir("sh4") / ("exec-" + pid + ".exit.json");
  for (int i = 0; i < 250 && !fs::exists(status_path); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  auto status = json::parse(read_text(status_path), nullptr, false);
  ASSERT_FALSE(status.is_discarded());
  EXPECT_EQ(status.value("exit_code", -1), 5) << status.dump();
  EXPECT_EQ(state_of("sh4")["status"], "running") << "the container outlives its exec session";
  EXPECT_EQ(droplet({"delete", "-f", "sh4"}).code, 0);
}

}  // namespace
}  // namespace droplet_test

// Fault injection ("Prove it"): condenserd killed at every named crash point (create, delete,
// policy commit, bottle create and remove, image pull) and restarted must come back to a state
// the kernel agrees with, and the interrupted operation must then run from scratch. Then the
// faults around the daemon: droplet killed in the middle of a create, ulogd2 killed, a full log
// disk, a full state disk, a registry that vanishes in the middle of a blob download.
// Everything is checked against the real kernel (links, mounts, cgroups, iptables) and the store
// file itself; each test has its own daemon and state root inside the sandbox.
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "../containers/fixture.hpp"
#include "condenser/store/sqlite.hpp"

using namespace raind::testing;
using namespace raind::testing::containers;
namespace fs = std::filesystem;

namespace {

// Every crash point in the sources, by the operation that reaches it. A new point must be added
// here: EveryCrashPointInTheSourcesIsHere fails otherwise.
const std::vector<std::string> kDaemonCrashPoints = {
    "create.after_insert",    "create.after_bundle",    "create.after_runtime",
    "create.after_commit",    "delete.after_mark",      "delete.after_runtime",
    "delete.after_bundle",    "commit.after_apply",     "commit.after_record",
    "bottle.create.recorded", "bottle.create.network",  "bottle.create.container",
    "bottle.create.policies", "bottle.remove.policies", "pull.during_download",
    "pull.after_blob",        "pull.after_unpack",
};
const std::string kDropletCrashPoint = "droplet.create.after_network";

// Loopback ports inside the sandbox's own network namespace.
constexpr int kRegistryPort = 16410;
constexpr int kProxyPort = 16420;
const std::string kDnsProxyAddress = "10.166.254.254";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string script(const std::string& relative) {
  return std::string(RAIND_SOURCE_DIR) + "/" + relative;
}

// Debian's docker-registry on loopback with the fixture image pushed as busybox:latest, started
// on first use and shared by the whole binary (starting one costs seconds); gtest stops it at
// the end (a global test environment).
class SharedRegistry : public ::testing::Environment {
 public:
  static SharedRegistry& get();
  // "" when it could not be started (error() says why).
  std::string host() {
    if (!started_) start();
    return error_.empty() ? "127.0.0.1:" + std::to_string(kRegistryPort) : std::string();
  }
  const std::string& error() const { return error_; }
  void TearDown() override {
    if (started_) run({"bash", script("scripts/local-registry.sh"), "clean"}, env_);
    dir_.reset();
  }

 private:
  void start() {
    started_ = true;
    dir_ = std::make_unique<TempDir>("faults-registry");
    env_ = {"STATE=" + (dir_->path() / "registry").string(), "MODE=plain",
            "PORT=" + std::to_string(kRegistryPort)};
    auto started = run({"bash", script("scripts/local-registry.sh"), "start"}, env_);
    if (started.code != 0) {
      error_ = "start: " + started.err;
      return;
    }
    auto pushed = run({"skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
                       "oci:" + (test_image_dir() / "oci-layout").string() + ":latest",
                       "docker://127.0.0.1:" + std::to_string(kRegistryPort) + "/busybox:latest"});
    if (pushed.code != 0) error_ = "push: " + pushed.err;
  }
  bool started_ = false;
  std::string error_;
  std::unique_ptr<TempDir> dir_;
  std::vector<std::string> env_;
};

SharedRegistry* const g_registry =
    static_cast<SharedRegistry*>(::testing::AddGlobalTestEnvironment(new SharedRegistry));
SharedRegistry& SharedRegistry::get() {
  return *g_registry;
}

// tests/fixtures/registry-fault-proxy.py in front of the shared registry; SIGKILLed (the
// registry vanishing) or stopped on destruction.
class FaultProxy {
 public:
  FaultProxy(const fs::path& log, std::vector<std::string> extra) {
    // Built before fork: the child only execs.
    std::vector<std::string> argv = {"/usr/bin/python3",
                                     script("tests/fixtures/registry-fault-proxy.py"),
                                     "--listen-port",
                                     std::to_string(kProxyPort),
                                     "--upstream",
                                     "127.0.0.1:" + std::to_string(kRegistryPort),
                                     "--log",
                                     log.string()};
    argv.insert(argv.end(), extra.begin(), extra.end());
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      if (run({"curl", "-sf", "-o", "/dev/null",
               "http://127.0.0.1:" + std::to_string(kProxyPort) + "/v2/"})
              .code == 0)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~FaultProxy() { stop(SIGTERM); }
  void stop(int signal) {
    if (pid_ <= 0) return;
    ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_ = -1;
};

std::vector<nlohmann::json> json_lines(const fs::path& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (auto j = nlohmann::json::parse(line, nullptr, false); j.is_object()) out.push_back(j);
  return out;
}

// "pid (comm) state ppid ...": the children of `parent` named `comm`.
std::vector<pid_t> children_named(pid_t parent, const std::string& comm) {
  std::vector<pid_t> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string name = e.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    auto stat = raind::sys::read_file(e.path() / "stat");
    if (!stat) continue;
    auto open = stat->find('('), close = stat->rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::istringstream rest(stat->substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == parent && stat->substr(open + 1, close - open - 1) == comm)
      out.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return out;
}

// A number or string at `pointer` ("/netflow/dropped"), or its default when absent.
std::uint64_t number_at(const nlohmann::json& j, const std::string& pointer) {
  auto p = nlohmann::json::json_pointer(pointer);
  return j.contains(p) && j.at(p).is_number_unsigned() ? j.at(p).get<std::uint64_t>() : 0;
}
std::string text_at(const nlohmann::json& j, const std::string& pointer) {
  auto p = nlohmann::json::json_pointer(pointer);
  return j.contains(p) && j.at(p).is_string() ? j.at(p).get<std::string>() : std::string();
}

// An IPv4 address as a number (0 when malformed).
std::uint32_t ipv4(const std::string& text) {
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  if (std::sscanf(text.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4) return 0;
  return (a << 24) | (b << 16) | (c << 8) | d;
}
std::string ipv4_text(std::uint32_t v) {
  return std::to_string(v >> 24) + "." + std::to_string((v >> 16) & 255) + "." +
         std::to_string((v >> 8) & 255) + "." + std::to_string(v & 255);
}

// A bottle without health waits (a create is quick): a network of its own, two containers
// and the one policy that lets web reach db.
const std::string kShopYaml = R"(bottle:
  name: shop
services:
  db:
    image: busybox:latest
    command: ["httpd", "-f", "-p", "5432", "-h", "/etc"]
  web:
    image: busybox:latest
    command: ["sleep", "1000"]
policies:
  - type: east-west
    source: web
    destination: db
    protocol: tcp
    dest_port: 5432
)";

class Faults : public Containers {
 protected:
  std::string extra_config() const override {
    return "images:\n  insecure_registries: [\"127.0.0.1:" + std::to_string(kRegistryPort) +
           "\", \"127.0.0.1:" + std::to_string(kProxyPort) + "\"]\n  timeout_s: 10\n";
  }

  void TearDown() override {
    Containers::TearDown();
    // After the daemon is gone (it held files open there); the temp dir goes next.
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
  }

  // A tmpfs of `size` on `dir`, inside the sandbox's own mount namespace; unmounted in TearDown.
  void mount_tmpfs(const fs::path& dir, const std::string& size) {
    fs::create_directories(dir);
    const std::string options = "size=" + size + ",mode=0750";
    ASSERT_EQ(::mount("raind-faults", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()),
              0)
        << dir << ": " << std::strerror(errno);
    mounts_.push_back(dir);
  }

  nlohmann::json cli_json(std::vector<std::string> args) {
    auto r = raind(args);
    EXPECT_EQ(r.code, 0) << ::testing::PrintToString(args) << ": " << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  nlohmann::json system_info() { return cli_json({"system", "info", "--json"}); }

  // Waits (bounded) until the daemon process has exited, without reaping it (Daemon::kill9
  // reaps it afterwards, so its pid cannot be reused meanwhile); true when SIGKILL ended it.
  bool daemon_died_of_sigkill(std::chrono::seconds limit = std::chrono::seconds(60)) {
    const pid_t pid = daemon_->pid();
    if (pid <= 0) return false;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      siginfo_t info{};
      if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          info.si_pid == pid)
        return info.si_code == CLD_KILLED && info.si_status == SIGKILL;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  fs::path images_dir() const { return dir_->path() / "state/images"; }

  // The invariants every restart must restore, read from the kernel and the store file:
  // nothing the store does not know of exists (addresses, veths, bridges, mounts, cgroups,
  // iptables rules, directories), nothing the store knows of is missing, and the store is whole.
  void expect_invariants(const std::string& when) {
    SCOPED_TRACE(when);
    auto containers = cli_json({"container", "ls", "-a", "--json"});
    auto networks = cli_json({"network", "ls", "--json"});
    auto policies = cli_json({"policy", "ls", "--json"});
    ASSERT_TRUE(containers.is_array() && networks.is_array() && policies.is_object());

    // The store file: whole, with the rows the API shows, none of them half done.
    std::set<std::string> ids, veths, live_veths;
    std::map<std::string, std::string> ip_owner;
    for (const auto& c : containers) {
      const std::string id = c.value("id", ""), state = c.value("state", "");
      ids.insert(id);
      veths.insert(c.value("veth", ""));
      if (state == "created" || state == "running") live_veths.insert(c.value("veth", ""));
      EXPECT_TRUE(state == "created" || state == "running" || state == "stopped")
          << id << " is " << state << " after reconciliation";
      auto [it, fresh] = ip_owner.emplace(c.value("ip", ""), id);
      EXPECT_TRUE(fresh) << "address " << it->first << " held by " << it->second << " and " << id;
    }
    {
      auto db = raind::condenser::store::Db::open(daemon_->db_path());
      ASSERT_TRUE(db) << db.error().what();
      auto check = db->prepare("PRAGMA integrity_check");
      ASSERT_TRUE(check);
      ASSERT_TRUE(check->step().value_or(false));
      EXPECT_EQ(check->text(0), "ok");
      auto rows = db->prepare("SELECT id, state FROM containers");
      ASSERT_TRUE(rows);
      std::set<std::string> stored;
      while (rows->step().value_or(false)) stored.insert(rows->text(0));
      EXPECT_EQ(stored, ids) << "the store's rows and the API's list differ";
      auto meta =
          db->prepare("SELECT key, value FROM meta WHERE key IN ('bottles', 'policy.committed')");
      ASSERT_TRUE(meta);
      while (meta->step().value_or(false)) {
        auto doc = nlohmann::json::parse(meta->text(1), nullptr, false);
        if (meta->text(0) == "policy.committed") {
          EXPECT_EQ(doc.value("revision", -1), policies.value("revision", -2))
              << "the served revision is not the recorded one";
        } else if (doc.is_object()) {
          for (const auto& [name, bottle] : doc.items())
            EXPECT_EQ(bottle.value("state", ""), "created") << "bottle " << name;
        }
      }
    }

    // Addresses: each inside its network, none a gateway.
    std::set<std::string> network_names, gateways{kDnsProxyAddress};
    std::map<std::string, std::pair<std::uint32_t, unsigned>> subnets;
    for (const auto& n : networks) {
      network_names.insert(n.value("name", ""));
      gateways.insert(n.value("gateway", ""));
      std::string subnet = n.value("subnet", "");
      auto slash = subnet.find('/');
      subnets[n.value("name", "")] = {ipv4(subnet.substr(0, slash)),
                                      static_cast<unsigned>(std::stoi(subnet.substr(slash + 1)))};
    }
    for (const auto& c : containers) {
      auto net = subnets.find(c.value("network", ""));
      ASSERT_NE(net, subnets.end()) << c.dump();
      const auto mask = net->second.second == 0 ? 0u : ~0u << (32 - net->second.second);
      EXPECT_EQ(ipv4(c.value("ip", "")) & mask, net->second.first) << c.dump();
      EXPECT_FALSE(gateways.contains(c.value("ip", ""))) << c.dump();
    }

    // Links: a veth per live container and no other; a bridge per network and no other.
    for (const auto& link : links_with_prefix("rd_"))
      EXPECT_TRUE(veths.contains(link)) << "veth " << link << " belongs to no stored container";
    auto links = links_with_prefix("rd_");
    for (const auto& veth : live_veths)
      EXPECT_NE(std::find(links.begin(), links.end(), veth), links.end())
          << "a live container lost its veth " << veth;
    std::set<std::string> bridges;
    {
      std::istringstream in(run({"ip", "-o", "link", "show", "type", "bridge"}).out);
      std::regex name("^\\d+: ([^:@]+)");
      for (std::string line; std::getline(in, line);)
        if (std::smatch m; std::regex_search(line, m, name)) bridges.insert(m[1]);
    }
    bridges.erase("raindDns");  // the DNS proxy's own interface, there whatever the store holds
    EXPECT_EQ(bridges, network_names);

    // Mounts under the state root: only the test's own.
    {
      std::istringstream in(raind::sys::read_file("/proc/self/mountinfo").value_or(""));
      const std::string root = dir_->path().string() + "/";
      for (std::string line; std::getline(in, line);) {
        std::istringstream fields(line);
        std::string id, parent, devno, source, target;
        fields >> id >> parent >> devno >> source >> target;
        if (target.rfind(root, 0) != 0) continue;
        EXPECT_NE(std::find(mounts_.begin(), mounts_.end(), fs::path(target)), mounts_.end())
            << "mount " << target << " left behind";
      }
    }

    // Cgroups: only stored containers' (in any hierarchy).
    for (const auto& cg : leftover_cgroups())
      EXPECT_TRUE(ids.contains(fs::path(cg).filename().string())) << "cgroup " << cg;

    // Directories: bundles and runtime states of stored containers only; no half download
    // except resumable partial blobs (kept by design), no half-unpacked layer.
    for (const auto& d : entries(dir_->path() / "state/containers"))
      EXPECT_TRUE(ids.contains(d)) << "bundle " << d;
    for (const auto& d : entries(dir_->path() / "run/droplet"))
      EXPECT_TRUE(ids.contains(d)) << "runtime state " << d;
    for (const auto& f : entries(images_dir() / "tmp"))
      EXPECT_EQ(f.rfind("partial-", 0), 0u) << "image temp file " << f;
    for (const auto& d : entries(images_dir() / "layers"))
      EXPECT_NE(d.rfind(".tmp-", 0), 0u) << "half-unpacked layer " << d;

    // iptables (both backends; this network namespace is the sandbox's): the rules name only
    // stored containers, networks and committed policies, and every applied policy is there.
    std::string rules = run({"iptables-save"}).out + run({"iptables-legacy-save"}).out;
    std::set<std::string> in_force, allowed_ids{"predefined", "host"};
    for (const auto& p : policies.value("policies", nlohmann::json::array())) {
      const std::string status = p.value("status", "");
      if (status == "applied" || status == "remove-next-commit")
        allowed_ids.insert(p.value("id", ""));
    }
    std::istringstream in(rules);
    const std::regex veth_re("\\brd_[0-9a-z]+"), addr_re("\\b10\\.166\\.\\d+\\.\\d+(/\\d+)?"),
        bridge_re("\\b(rb-[a-z0-9-]+|raind[0-9]+)\\b"), id_re("id=([0-9a-z]+)"),
        owner_re("raind:([0-9a-z]+)");
    for (std::string line; std::getline(in, line);) {
      if (!contains(line, "RAIND")) continue;
      auto each = [&](const std::regex& re, auto&& check) {
        for (std::sregex_iterator it(line.begin(), line.end(), re), end; it != end; ++it)
          check(*it);
      };
      each(veth_re, [&](const std::smatch& m) {
        EXPECT_TRUE(veths.contains(m.str())) << "rule names unknown veth: " << line;
      });
      each(addr_re, [&](const std::smatch& m) {
        if (m[1].matched && m[1].str() != "/32") return;  // a subnet
        std::string addr = m.str().substr(0, m.str().find('/'));
        EXPECT_TRUE(ip_owner.contains(addr) || gateways.contains(addr))
            << "rule names an address nobody holds: " << line;
      });
      each(bridge_re, [&](const std::smatch& m) {
        EXPECT_TRUE(network_names.contains(m.str())) << "rule names unknown bridge: " << line;
      });
      each(id_re, [&](const std::smatch& m) {
        EXPECT_TRUE(allowed_ids.contains(m[1].str())) << "rule of an uncommitted policy: " << line;
        in_force.insert(m[1].str());
      });
      each(owner_re, [&](const std::smatch& m) {
        EXPECT_TRUE(ids.contains(m[1].str())) << "published port of unknown container: " << line;
      });
    }
    for (const auto& p : policies.value("policies", nlohmann::json::array())) {
      if (p.value("status", "") == "applied") {
        EXPECT_TRUE(in_force.contains(p.value("id", "")))
            << "applied but not in the kernel: " << p.dump();
      }
    }
  }

  // The lowest address of `network` that neither a container nor the gateway holds: what a
  // create must get when no address leaked.
  std::string first_free_address(const std::string& network) {
    std::set<std::string> taken;
    for (const auto& c : cli_json({"container", "ls", "-a", "--json"}))
      if (c.value("network", "") == network) taken.insert(c.value("ip", ""));
    for (const auto& n : cli_json({"network", "ls", "--json"})) {
      if (n.value("name", "") != network) continue;
      taken.insert(n.value("gateway", ""));
      std::string subnet = n.value("subnet", "");
      std::uint32_t base = ipv4(subnet.substr(0, subnet.find('/')));
      for (std::uint32_t a = base + 1; a < base + 255; ++a)
        if (!taken.contains(ipv4_text(a))) return ipv4_text(a);
    }
    return "?";
  }

  std::vector<std::string> mounts_;
};

// --- every crash point ------------------------------------------------------------------------

enum class Operation { create, remove, commit, bottle_create, bottle_remove, pull };

Operation operation_of(const std::string& point) {
  if (point.rfind("create.", 0) == 0) return Operation::create;
  if (point.rfind("delete.", 0) == 0) return Operation::remove;
  if (point.rfind("commit.", 0) == 0) return Operation::commit;
  if (point.rfind("bottle.create.", 0) == 0) return Operation::bottle_create;
  if (point.rfind("bottle.remove.", 0) == 0) return Operation::bottle_remove;
  return Operation::pull;
}

class CrashPoint : public Faults, public ::testing::WithParamInterface<std::string> {
 protected:
  std::string pull_ref() const { return registry_ + "/busybox:latest"; }
  std::string shop_file() {
    fs::path p = dir_->path() / "shop.yaml";
    if (!fs::exists(p)) std::ofstream(p) << kShopYaml;
    return p.string();
  }

  // What the operation needs, made by a daemon that does not crash.
  void prepare(Operation op) {
    switch (op) {
      case Operation::create:
        break;
      case Operation::remove:
        run_detached({"--name", "doomed", "-p", "9191:80", "busybox:latest", "sleep", "1000"});
        break;
      case Operation::commit:
        for (const std::string name : {"alpha", "bravo"})
          ASSERT_EQ(raind({"container", "create", "--name", name, "busybox:latest", "true"}).code,
                    0);
        ASSERT_EQ(raind({"policy", "add", "--type", "ew", "-s", "alpha", "-d", "bravo", "-p", "tcp",
                         "--dport", "8080"})
                      .code,
                  0);
        break;
      case Operation::bottle_create:
        break;
      case Operation::bottle_remove: {
        auto made = raind({"bottle", "create", "-f", shop_file()});
        ASSERT_EQ(made.code, 0) << made.err << daemon_->output();
        break;
      }
      case Operation::pull: {
        registry_ = SharedRegistry::get().host();
        ASSERT_FALSE(registry_.empty()) << SharedRegistry::get().error();
        // The imported fixture has the same layer: without removing it nothing is downloaded.
        auto removed = raind({"image", "rm", "busybox:latest"});
        ASSERT_EQ(removed.code, 0) << removed.err;
        ASSERT_TRUE(entries(images_dir() / "layers").empty());
        break;
      }
    }
  }

  raind::testing::Run drive(Operation op) {
    switch (op) {
      case Operation::create:
        return raind({"container", "create", "--name", "phoenix", "-p", "9090:80", "busybox:latest",
                      "sleep", "1000"});
      case Operation::remove:
        return raind({"container", "rm", "-f", "doomed"});
      case Operation::commit:
        return raind({"policy", "commit", "-y"});
      case Operation::bottle_create:
        return raind({"bottle", "create", "-f", shop_file()});
      case Operation::bottle_remove:
        return raind({"bottle", "rm", "shop"});
      case Operation::pull:
        return raind({"image", "pull", pull_ref()});
    }
    return {};
  }

  // What the restarted daemon must show for this point.
  void expect_outcome(const std::string& point, Operation op) {
    switch (op) {
      case Operation::create:
        if (point == "create.after_commit") {
          // Committed before the crash: the container is whole, and it can be removed.
          EXPECT_EQ(inspect("phoenix").value("state", ""), "created");
          auto removed = raind({"container", "rm", "-f", "phoenix"});
          ASSERT_EQ(removed.code, 0) << removed.err;
        } else {
          EXPECT_NE(raind({"container", "inspect", "phoenix"}).code, 0) << "not rolled back";
        }
        break;
      case Operation::remove:
        EXPECT_NE(raind({"container", "inspect", "doomed"}).code, 0) << "delete not finished";
        break;
      case Operation::commit: {
        // All or nothing, and the kernel holds what the store says is in force (checked by
        // expect_invariants): applied before the revision was recorded → not published.
        auto listing = cli_json({"policy", "ls", "--json"});
        const bool recorded = point == "commit.after_record";
        EXPECT_EQ(listing.value("revision", -1), recorded ? 1 : 0) << listing.dump();
        for (const auto& p : listing["policies"])
          EXPECT_EQ(p.value("status", ""), recorded ? "applied" : "pending") << p.dump();
        break;
      }
      case Operation::bottle_create:
      case Operation::bottle_remove: {
        EXPECT_EQ(cli_json({"bottle", "ls", "--json"}), nlohmann::json::array());
        EXPECT_TRUE(cli_json({"container", "ls", "-a", "--json"}).empty());
        EXPECT_EQ(cli_json({"network", "ls", "--json"}).size(), 1u) << "the bottle's network";
        EXPECT_TRUE(cli_json({"policy", "ls", "--json"})["policies"].empty());
        break;
      }
      case Operation::pull: {
        EXPECT_NE(raind({"image", "inspect", pull_ref()}).code, 0) << "a partial image";
        EXPECT_EQ(cli_json({"image", "ls", "--json"}), nlohmann::json::array());
        auto tmp = entries(images_dir() / "tmp");
        if (point == "pull.during_download")
          EXPECT_EQ(tmp.size(), 1u) << "the partial blob is kept to resume from";
        else
          EXPECT_TRUE(tmp.empty()) << ::testing::PrintToString(tmp);
        break;
      }
    }
  }

  // The same operation, from scratch, on the recovered daemon.
  void run_again(Operation op) {
    switch (op) {
      case Operation::create: {
        const std::string expected = first_free_address("raind0");
        auto made = raind({"container", "create", "--name", "phoenix", "-p", "9090:80",
                           "busybox:latest", "sleep", "1000"});
        ASSERT_EQ(made.code, 0) << made.err << daemon_->output();
        EXPECT_EQ(inspect("phoenix").value("ip", ""), expected) << "an address leaked";
        break;
      }
      case Operation::remove:
        run_detached({"--name", "doomed", "-p", "9191:80", "busybox:latest", "sleep", "1000"});
        ASSERT_EQ(raind({"container", "rm", "-f", "doomed"}).code, 0);
        break;
      case Operation::commit: {
        auto listing = cli_json({"policy", "ls", "--json"});
        ASSERT_EQ(raind({"policy", "add", "--type", "ew", "-s", "bravo", "-d", "alpha", "-p", "tcp",
                         "--dport", "9090"})
                      .code,
                  0);
        auto committed = raind({"policy", "commit", "-y"});
        ASSERT_EQ(committed.code, 0) << committed.err;
        auto after = cli_json({"policy", "ls", "--json"});
        EXPECT_EQ(after.value("revision", 0), listing.value("revision", 0) + 1);
        for (const auto& p : after["policies"]) EXPECT_EQ(p.value("status", ""), "applied");
        break;
      }
      case Operation::bottle_create:
      case Operation::bottle_remove: {
        auto made = raind({"bottle", "create", "-f", shop_file()});
        ASSERT_EQ(made.code, 0) << made.err << daemon_->output();
        EXPECT_EQ(inspect("shop-web").value("state", ""), "created");
        EXPECT_EQ(cli_json({"policy", "ls", "--json"})["policies"].size(), 1u);
        if (op == Operation::bottle_remove) {
          auto removed = raind({"bottle", "rm", "shop"});
          ASSERT_EQ(removed.code, 0) << removed.err;
          EXPECT_TRUE(cli_json({"container", "ls", "-a", "--json"}).empty());
        }
        break;
      }
      case Operation::pull: {
        auto pulled = raind({"image", "pull", pull_ref()});
        ASSERT_EQ(pulled.code, 0) << pulled.err << daemon_->output();
        EXPECT_EQ(raind({"image", "inspect", pull_ref()}).code, 0);
        EXPECT_TRUE(entries(images_dir() / "tmp").empty()) << "the partial blob was adopted";
        EXPECT_EQ(entries(images_dir() / "layers").size(), 1u);
        break;
      }
    }
  }

  std::string registry_;
};

TEST_P(CrashPoint, TheDaemonKilledHereComesBackConsistentAndTheOperationRunsAgain) {
#ifndef RAIND_CRASH_POINTS_ENABLED
  GTEST_SKIP() << "built without RAIND_CRASH_POINTS";
#endif
  const std::string point = GetParam();
  const Operation op = operation_of(point);
  ASSERT_NO_FATAL_FAILURE(prepare(op));
  daemon_->terminate();
  ASSERT_TRUE(start_daemon({"RAIND_TEST_CRASH_AT=" + point})) << daemon_->output();
  auto r = drive(op);
  EXPECT_NE(r.code, 0) << "the client should have lost the daemon at " << point << ": " << r.out;
  ASSERT_TRUE(daemon_died_of_sigkill()) << "condenserd did not die at " << point << "\n"
                                        << daemon_->output();
  daemon_->kill9();  // reaps it
  ASSERT_TRUE(start_daemon()) << daemon_->output();
  ASSERT_NO_FATAL_FAILURE(expect_invariants("restarted after " + point));
  ASSERT_NO_FATAL_FAILURE(expect_outcome(point, op));
  ASSERT_NO_FATAL_FAILURE(run_again(op));
  expect_invariants("the operation ran again");
}

INSTANTIATE_TEST_SUITE_P(Every, CrashPoint, ::testing::ValuesIn(kDaemonCrashPoints),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string name = param.param;
                           for (auto& c : name)
                             if (c == '.') c = '_';
                           return name;
                         });

TEST(CrashPoints, EveryCrashPointInTheSourcesIsHere) {
  std::set<std::string> in_sources;
  const std::regex call("crash_point\\(\"([a-z_.]+)\"\\)");
  for (const char* tree : {"condenser", "droplet", "common"}) {
    for (const auto& e : fs::recursive_directory_iterator(fs::path(RAIND_SOURCE_DIR) / tree)) {
      if (e.path().extension() != ".cpp") continue;
      std::string text = raind::sys::read_file(e.path()).value_or("");
      for (std::sregex_iterator it(text.begin(), text.end(), call), end; it != end; ++it)
        in_sources.insert((*it)[1]);
    }
  }
  std::set<std::string> tested(kDaemonCrashPoints.begin(), kDaemonCrashPoints.end());
  tested.insert(kDropletCrashPoint);
  EXPECT_EQ(in_sources, tested);
}

// --- the faults around the daemon ---------------------------------------------------------------

TEST_F(Faults, DropletKilledInTheMiddleOfACreateLeavesNothingAndARetryWorks) {
#ifndef RAIND_CRASH_POINTS_ENABLED
  GTEST_SKIP() << "built without RAIND_CRASH_POINTS";
#endif
  // droplet (the process doing the create) dies once its init waits in its cgroup with a veth,
  // before any state.json names it; the daemon lives on.
  daemon_->terminate();
  const fs::path once = dir_->path() / "droplet-crashed";
  ASSERT_TRUE(start_daemon(
      {"RAIND_TEST_CRASH_AT=" + kDropletCrashPoint, "RAIND_TEST_CRASH_ONCE=" + once.string()}))
      << daemon_->output();
  const pid_t daemon_pid = daemon_->pid();
  auto r = raind({"container", "create", "--name", "orphan", "-p", "9292:80", "busybox:latest",
                  "sleep", "1000"});
  ASSERT_TRUE(fs::exists(once)) << "droplet never reached " << kDropletCrashPoint;
  EXPECT_NE(r.code, 0);
  EXPECT_TRUE(contains(r.err, "runtime: create")) << "not a clear error: " << r.err;
  EXPECT_EQ(::kill(daemon_pid, 0), 0) << "condenserd died too";
  EXPECT_NE(raind({"container", "inspect", "orphan"}).code, 0);
  expect_invariants("live, after the failed create");
  EXPECT_TRUE(leftover_cgroups().empty()) << ::testing::PrintToString(leftover_cgroups());
  // The same create again, on the same daemon: the address was not leaked.
  const std::string expected = first_free_address("raind0");
  auto again = raind({"container", "create", "--name", "orphan", "-p", "9292:80", "busybox:latest",
                      "sleep", "1000"});
  ASSERT_EQ(again.code, 0) << again.err << daemon_->output();
  EXPECT_EQ(inspect("orphan").value("ip", ""), expected);
  ASSERT_EQ(raind({"container", "start", "orphan"}).code, 0);
  EXPECT_TRUE(wait_for_state("orphan", "running"));
  expect_invariants("after the retry");
}

TEST_F(Faults, UlogdKilledIsRestartedCountedAndFlowRecordsKeepComing) {
  for (const std::string name : {"alpha", "bravo"})
    run_detached({"--name", name, "busybox:latest", "sleep", "1000"});
  const std::string bravo_ip = inspect("bravo").value("ip", "");
  // Denied pings alpha → bravo until a new flow record for them is read back.
  auto deny_records = [&] {
    std::size_t n = 0;
    auto r = raind({"logs", "netflow", "--json", "-n", "1000"});
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (text_at(j, "/verdict") == "deny" && text_at(j, "/proto") == "ICMP" &&
          text_at(j, "/src/container_name") == "alpha")
        ++n;
    }
    return n;
  };
  auto a_new_deny_arrives = [&](std::size_t before) {
    for (int i = 0; i < 40; ++i) {
      raind({"container", "exec", "alpha", "ping", "-c", "1", "-W", "1", bravo_ip});
      if (deny_records() > before) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return false;
  };
  ASSERT_TRUE(a_new_deny_arrives(0)) << daemon_->output();

  auto ulogd = children_named(daemon_->pid(), "ulogd");
  ASSERT_EQ(ulogd.size(), 1u) << "ulogd is not condenserd's child";
  const auto before = number_at(system_info(), "/observability/netflow/ulogd_restarts");
  ASSERT_EQ(::kill(ulogd[0], SIGKILL), 0);

  std::vector<pid_t> successor;
  for (int i = 0; i < 100; ++i) {
    successor = children_named(daemon_->pid(), "ulogd");
    if (successor.size() == 1 && successor[0] != ulogd[0]) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(successor.size(), 1u) << daemon_->output();
  EXPECT_NE(successor[0], ulogd[0]);
  const auto info = system_info();
  EXPECT_EQ(number_at(info, "/observability/netflow/ulogd_restarts"), before + 1) << info.dump();
  EXPECT_TRUE(a_new_deny_arrives(deny_records())) << "no flow record after the restart";
  EXPECT_EQ(::kill(daemon_->pid(), 0), 0);
}

TEST_F(Faults, AFullLogDiskDropsRecordsCountsThemAndTheDaemonServesOn) {
  daemon_->terminate();
  // 64 KiB for every log the daemon writes (audit, flows, DNS, metrics, droplet's audit).
  ASSERT_NO_FATAL_FAILURE(mount_tmpfs(dir_->path() / "log", "64k"));
  ASSERT_TRUE(start_daemon()) << daemon_->output();
  std::string alpha = run_detached({"--name", "alpha", "busybox:latest", "sleep", "1000"});
  std::string bravo = run_detached({"--name", "bravo", "busybox:latest", "sleep", "1000"});
  const std::string bravo_ip = inspect("bravo").value("ip", "");

  // Audit records (one per request) until the disk is full and they are being dropped.
  const Target api{daemon_->management(), ""};
  const auto id = daemon_->cli_identity();
  const auto ca = daemon_->ca_pem();
  std::uint64_t audit_dropped = 0;
  for (int i = 0; i < 2000 && audit_dropped == 0; ++i) {
    auto reply = call(api, id, ca, "GET", "/v1/system/info");
    ASSERT_EQ(reply.status, 200u) << reply.error;
    audit_dropped = number_at(reply.json(), "/data/observability/audit/dropped");
  }
  EXPECT_GT(audit_dropped, 0u) << "the log disk never filled";
  // DNS queries and denied flows now have no room either.
  raind({"container", "exec", "alpha", "sh", "-c",
         "for i in 1 2 3 4 5 6 7 8 9 10; do nslookup upstream.raind.test >/dev/null 2>&1; done; "
         "ping -c 3 -i 0.2 -W 1 " +
             bravo_ip + " >/dev/null"});
  nlohmann::json counters;
  for (int i = 0; i < 50; ++i) {  // the DNS log is written in batches, flows through ulogd
    counters = system_info()["observability"];
    if (number_at(counters, "/dns/log_dropped") > 0 && number_at(counters, "/netflow/dropped") > 0)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_GT(number_at(counters, "/dns/log_dropped"), 0u) << counters.dump();
  EXPECT_GT(number_at(counters, "/netflow/dropped"), 0u) << counters.dump();
  EXPECT_GE(number_at(counters, "/audit/dropped"), audit_dropped) << counters.dump();
  // Nothing half written: every line in the full files is whole JSON.
  for (const auto& f : entries(dir_->path() / "log")) {
    if (fs::path(f).extension() != ".jsonl") continue;
    std::ifstream in(dir_->path() / "log" / f);
    for (std::string line; std::getline(in, line);)
      EXPECT_FALSE(nlohmann::json::parse(line, nullptr, false).is_discarded()) << f << ": " << line;
  }
  // Room again (the tmpfs grows): the same writers write again, nothing restarted.
  const auto written = number_at(system_info(), "/observability/audit/written");
  ASSERT_EQ(::mount(nullptr, (dir_->path() / "log").c_str(), nullptr,
                    MS_REMOUNT | MS_NOSUID | MS_NODEV, "size=1m,mode=0750"),
            0)
      << std::strerror(errno);
  system_info();
  EXPECT_GT(number_at(system_info(), "/observability/audit/written"), written);
  // The daemon works on: containers come and go, the API answers.
  auto made = raind({"container", "run", "--rm", "busybox:latest", "echo", "still-serving"});
  EXPECT_EQ(made.code, 0) << made.err;
  EXPECT_TRUE(contains(made.out, "still-serving")) << made.out;
  EXPECT_EQ(raind({"container", "rm", "-f", alpha}).code, 0);
  expect_invariants("with a full log disk");
  EXPECT_EQ(::kill(daemon_->pid(), 0), 0);
}

TEST_F(Faults, AFullStateDiskFailsStateWritesCleanly) {
  daemon_->terminate();
  // The whole state dir (store, images, bundles) on a small tmpfs of its own.
  fs::remove_all(dir_->path() / "state");
  ASSERT_NO_FATAL_FAILURE(mount_tmpfs(dir_->path() / "state", "48m"));
  ASSERT_TRUE(start_daemon()) << daemon_->output();
  auto imported = raind({"image", "import", image_.string(), "--name", "busybox:latest"});
  ASSERT_EQ(imported.code, 0) << imported.err;
  std::string keeper = run_detached({"--name", "keeper", "busybox:latest", "sleep", "1000"});

  // Fill it to the last byte.
  const fs::path filler = dir_->path() / "state/filler";
  {
    int fd = ::open(filler.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ASSERT_GE(fd, 0);
    std::string block(1 << 16, 'x');
    for (std::size_t size = block.size(); size > 0; size /= 2)
      while (::write(fd, block.data(), size) == static_cast<ssize_t>(size)) {
      }
    ::close(fd);
  }
  // A container create needs the store and a bundle: it fails with the reason, leaves nothing.
  auto starved = raind({"container", "create", "--name", "starved", "busybox:latest", "true"});
  EXPECT_NE(starved.code, 0);
  EXPECT_TRUE(contains(starved.err, "No space left on device") ||
              contains(starved.err, "disk is full"))
      << "not a clear error: " << starved.err;
  EXPECT_NE(raind({"container", "inspect", "starved"}).code, 0);
  // Staged policy changes are store writes only.
  bool refused = false;
  for (int i = 0; i < 50 && !refused; ++i) {
    auto added = raind({"policy", "add", "--type", "ns-obs", "-s", "keeper", "-d",
                        "198.51.100." + std::to_string(10 + i), "-p", "tcp", "--dport", "80"});
    if (added.code != 0) {
      refused = true;
      EXPECT_TRUE(contains(added.err, "disk is full") || contains(added.err, "No space left"))
          << added.err;
    }
  }
  EXPECT_TRUE(refused) << "every policy write on the full disk succeeded";
  expect_invariants("with a full state disk");
  EXPECT_EQ(inspect("keeper").value("state", ""), "running");

  // Room again: the same create works, the store is whole.
  fs::remove(filler);
  auto fed = raind({"container", "create", "--name", "starved", "busybox:latest", "true"});
  EXPECT_EQ(fed.code, 0) << fed.err << daemon_->output();
  expect_invariants("with room again");
}

TEST_F(Faults, ARegistryVanishingMidPullFailsCleanlyAndThePullCompletesOnceItIsBack) {
  const std::string registry = SharedRegistry::get().host();
  ASSERT_FALSE(registry.empty()) << SharedRegistry::get().error();
  ASSERT_EQ(raind({"image", "rm", "busybox:latest"}).code, 0);  // so the layer is downloaded
  const fs::path log = dir_->path() / "proxy.jsonl";
  const std::string ref = "127.0.0.1:" + std::to_string(kProxyPort) + "/busybox:latest";

  raind::testing::Run pulled;
  {
    FaultProxy proxy(log, {"--stall-after", "65536"});
    std::thread pull([&] { pulled = raind({"image", "pull", ref}); });
    bool stalled = false;
    for (int i = 0; i < 300 && !stalled; ++i) {
      for (const auto& l : json_lines(log)) stalled = stalled || l.value("stalled", false);
      if (!stalled) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_TRUE(stalled) << "the blob download never started";
    proxy.stop(SIGKILL);  // the registry vanishes, mid-blob
    pull.join();
  }
  EXPECT_NE(pulled.code, 0);
  EXPECT_NE(pulled.code, -1) << "the pull did not end within the client's limit: " << pulled.err;
  // "raind: layer 74fe87977202: http://127.0.0.1:16420: connect: Connection refused"
  EXPECT_TRUE(contains(pulled.err, "raind: layer ") &&
              contains(pulled.err, "127.0.0.1:" + std::to_string(kProxyPort) + ": connect"))
      << "not a clear error: " << pulled.err;
  EXPECT_NE(raind({"image", "inspect", ref}).code, 0);
  EXPECT_TRUE(entries(images_dir() / "layers").empty()) << "a layer without its image";
  // The bytes that arrived are kept, by design, as one partial blob to resume from.
  auto tmp = entries(images_dir() / "tmp");
  ASSERT_EQ(tmp.size(), 1u) << ::testing::PrintToString(tmp);
  EXPECT_EQ(tmp[0].rfind("partial-", 0), 0u);
  EXPECT_GT(fs::file_size(images_dir() / "tmp" / tmp[0]), 0u);
  expect_invariants("after the failed pull");

  // The registry is back: the pull completes, resuming where the bytes stopped.
  FaultProxy proxy(log, {"--cut-times", "0"});
  auto again = raind({"image", "pull", ref});
  ASSERT_EQ(again.code, 0) << again.err << daemon_->output();
  bool resumed = false;
  for (const auto& l : json_lines(log))
    if (l["range"].is_string() && l.value("status", 0) == 206) resumed = true;
  EXPECT_TRUE(resumed) << "the download started over";
  EXPECT_TRUE(entries(images_dir() / "tmp").empty());
  auto ran = raind({"container", "run", "--rm", ref, "echo", "pulled-after-all"});
  EXPECT_TRUE(contains(ran.out, "pulled-after-all")) << ran.err;
  expect_invariants("after the pull completed");
}

}  // namespace

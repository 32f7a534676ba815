#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "condenser/containers/config_gen.hpp"
#include "condenser/network/ipv4.hpp"
#include "raind/droplet/net_config.hpp"

using namespace raind::condenser::containers;
using nlohmann::json;
using raind::condenser::network::parse_ipv4;

namespace {

const std::string kGolden =
    std::string(RAIND_SOURCE_DIR) + "/tests/unit/containers/golden/container_config.json";

ImageConfig busybox_like() {
  ImageConfig image;
  image.env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"};
  image.cmd = {"sh"};
  image.working_dir = "";
  return image;
}

GenerateContext context() {
  const std::string dir = "/var/lib/raind/containers/01kg2cnf0ytv";
  GenerateContext c;
  c.container_id = "01kg2cnf0ytv";
  c.rootfs = dir + "/merged";
  c.overlay = {{"/var/lib/raind/layers/bbb/fs", "/var/lib/raind/layers/aaa/fs"},
               dir + "/diff",
               dir + "/work"};
  NetworkAttachment n;
  n.bridge = "raind0";
  n.veth = "rd_01kg2cnf0ytv";
  n.address = *parse_ipv4("10.166.0.3");
  n.prefix = 24;
  n.gateway = *parse_ipv4("10.166.0.254");
  c.network = n;
  c.hosts_path = dir + "/etc/hosts";
  c.hostname_path = dir + "/etc/hostname";
  c.resolv_conf_path = dir + "/etc/resolv.conf";
  c.hook = HookCommand{};
  c.hook->path = "/usr/local/bin/condenserd";
  c.hook->env = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"};
  c.security.capabilities = {"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  c.security.apparmor_profile = "raind-default";
  c.security.seccomp.default_action = "SCMP_ACT_ERRNO";
  c.security.seccomp.default_errno_ret = 1;
  c.security.seccomp.architectures = {"SCMP_ARCH_X86_64"};
  raind::oci::SeccompSyscall allow;
  allow.names = {"read", "write", "exit_group"};
  allow.action = "SCMP_ACT_ALLOW";
  c.security.seccomp.syscalls = {allow};
  c.cgroups_path = "/raind/01kg2cnf0ytv";
  return c;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

json generate(const ImageConfig& image, const ContainerRequest& request,
              const GenerateContext& ctx = context()) {
  auto spec = generate_container_config(image, request, ctx);
  EXPECT_TRUE(spec) << spec.error().what();
  if (!spec) return json();
  return container_config_json(*spec);
}

}  // namespace

// The whole document for a default `raind container run -t busybox`: any change to what
// condenserd writes shows up here. Regenerate with RAIND_UPDATE_GOLDEN=1 and review the diff.
TEST(ConfigGen, DefaultContainerMatchesGolden) {
  ContainerRequest request;
  request.tty = true;
  json produced = generate(busybox_like(), request);
  if (std::getenv("RAIND_UPDATE_GOLDEN")) {
    std::ofstream(kGolden) << produced.dump(2) << "\n";
  }
  std::string golden = read_file(kGolden);
  ASSERT_FALSE(golden.empty()) << kGolden;
  EXPECT_EQ(produced, json::parse(golden)) << produced.dump(2);
}

TEST(ConfigGen, OutputParsesBackWithLimitsAndProfile) {
  ContainerRequest request;
  json produced = generate(busybox_like(), request);
  auto spec = raind::oci::parse_spec(produced.dump());
  ASSERT_TRUE(spec) << spec.error().what();
  ASSERT_TRUE(raind::oci::validate_spec(*spec));
  const auto& r = *spec->linux_->resources;
  EXPECT_EQ(*r.memory->limit, std::int64_t{1} << 30);
  EXPECT_EQ(*r.cpu->quota, 80000);
  EXPECT_EQ(*r.cpu->period, 100000u);
  EXPECT_EQ(r.pids->limit, 512);
  ASSERT_TRUE(spec->linux_->seccomp);
  EXPECT_EQ(spec->linux_->seccomp->default_action, "SCMP_ACT_ERRNO");
  EXPECT_EQ(spec->process->apparmor_profile, "raind-default");
  EXPECT_TRUE(spec->process->no_new_privileges);
  EXPECT_EQ(spec->process->capabilities->bounding,
            (std::vector<std::string>{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"}));
  EXPECT_TRUE(spec->process->capabilities->ambient.empty());
  for (const char* ns : {"pid", "network", "ipc", "uts", "mount", "cgroup"})
    EXPECT_TRUE(spec->has_namespace(ns)) << ns;
  EXPECT_FALSE(spec->has_namespace("user"));
  EXPECT_FALSE(spec->process->terminal);
}

TEST(ConfigGen, NetworkAnnotationIsWhatDropletParses) {
  json produced = generate(busybox_like(), ContainerRequest{});
  std::string text = produced["annotations"]["io.raind.net.config"];
  auto net = raind::droplet::net::parse_net_config(text);
  ASSERT_TRUE(net) << net.error().what();
  EXPECT_EQ(net->bridge_interface, "raind0");
  EXPECT_EQ(net->veth_name, "rd_01kg2cnf0ytv");
  EXPECT_EQ(net->address.to_string(), "10.166.0.3/24");
  EXPECT_EQ(raind::droplet::net::ipv4_to_string(net->gateway), "10.166.0.254");
  EXPECT_EQ(raind::droplet::net::mac_to_string(net->mac), "02:52:0a:a6:00:03");
  // Droplet derives the same MAC when none is given, so both sides agree.
  EXPECT_EQ(net->mac, raind::droplet::net::mac_from_ipv4(net->address.address));

  json image = json::parse(produced["annotations"]["io.raind.image.config"].get<std::string>());
  EXPECT_EQ(image["rootfsType"], "overlay");
  EXPECT_EQ(image["imageLayer"][0], "/var/lib/raind/layers/bbb/fs");  // top layer first
  EXPECT_EQ(image["upperDir"], "/var/lib/raind/containers/01kg2cnf0ytv/diff");
  EXPECT_EQ(image["workDir"], "/var/lib/raind/containers/01kg2cnf0ytv/work");

  GenerateContext isolated = context();
  isolated.network.reset();
  json none = generate(busybox_like(), ContainerRequest{}, isolated);
  EXPECT_FALSE(none["annotations"].contains("io.raind.net.config"));
}

TEST(ConfigGen, HooksCallCondenserdForEveryPhase) {
  GenerateContext ctx = context();
  ctx.hook->extra_args = {"--socket", "/run/raind/hooks.sock"};
  json hooks = generate(busybox_like(), ContainerRequest{}, ctx)["hooks"];
  for (const char* phase :
       {"createRuntime", "createContainer", "poststart", "stopContainer", "poststop"}) {
    ASSERT_TRUE(hooks.contains(phase)) << phase;
    ASSERT_EQ(hooks[phase].size(), 1u);
    const json& h = hooks[phase][0];
    EXPECT_EQ(h["path"], "/usr/local/bin/condenserd");
    EXPECT_EQ(h["args"],
              json({"condenserd", "hook", "--event", phase, "--socket", "/run/raind/hooks.sock"}));
    EXPECT_EQ(h["timeout"], 30);
  }
  EXPECT_FALSE(hooks.contains("startContainer"));
  EXPECT_FALSE(hooks.contains("prestart"));
}

TEST(ConfigGen, RequestOverridesImageAndDefaults) {
  ImageConfig image = busybox_like();
  image.entrypoint = {"/entry"};
  image.cmd = {"serve"};
  image.working_dir = "app";  // relative, as some old images have it
  image.user = "app";
  GenerateContext ctx = context();
  ctx.accounts.passwd = "app:x:1000:1000::/home/app:/bin/sh\n";
  ctx.accounts.group = "app:x:1000:\nstaff:x:50:\n";

  json base = generate(image, ContainerRequest{}, ctx);
  EXPECT_EQ(base["process"]["args"], json({"/entry", "serve"}));
  EXPECT_EQ(base["process"]["cwd"], "/app");
  EXPECT_EQ(base["process"]["user"]["uid"], 1000);

  ContainerRequest request;
  request.command = {"sh", "-c", "echo hi"};
  request.env = {"LANG=en_US.UTF-8", "NEW=1", "EMPTY="};
  request.workdir = "/srv";
  request.user = "0:staff";
  request.hostname = "web-1";
  request.read_only = true;
  request.memory_bytes = 32 * 1024 * 1024;
  request.cpus = 1.5;
  request.pids_limit = 64;
  json j = generate(image, request, ctx);
  EXPECT_EQ(j["process"]["args"], json({"/entry", "sh", "-c", "echo hi"}));
  EXPECT_EQ(j["process"]["env"], json({"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=en_US.UTF-8",
                                       "HOSTNAME=web-1", "NEW=1", "EMPTY="}));
  EXPECT_EQ(j["process"]["cwd"], "/srv");
  EXPECT_EQ(j["process"]["user"]["uid"], 0);
  EXPECT_EQ(j["process"]["user"]["gid"], 50);
  EXPECT_EQ(j["hostname"], "web-1");
  EXPECT_EQ(j["root"]["readonly"], true);
  EXPECT_EQ(j["linux"]["resources"]["memory"]["limit"], 32 * 1024 * 1024);
  EXPECT_EQ(j["linux"]["resources"]["cpu"]["quota"], 150000);
  EXPECT_EQ(j["linux"]["resources"]["pids"]["limit"], 64);
  for (const auto& m : j["mounts"]) {
    if (m["destination"].get<std::string>().starts_with("/etc/")) {
      auto options = m["options"].get<std::vector<std::string>>();
      EXPECT_NE(std::find(options.begin(), options.end(), "ro"), options.end()) << m.dump();
    }
  }

  request.entrypoint = std::vector<std::string>{};
  EXPECT_EQ(generate(image, request, ctx)["process"]["args"], json({"sh", "-c", "echo hi"}));
}

TEST(ConfigGen, VolumesBecomeBindMountsAfterTheGeneratedOnes) {
  ContainerRequest request;
  request.volumes = {{"/srv/data", "/data", true}, {"/srv/bin", "/opt/bin", false}};
  json mounts = generate(busybox_like(), request)["mounts"];
  ASSERT_GE(mounts.size(), 2u);
  EXPECT_EQ(mounts[mounts.size() - 2],
            json({{"destination", "/data"},
                  {"type", "bind"},
                  {"source", "/srv/data"},
                  {"options", {"rbind", "rprivate", "nosuid", "nodev", "ro"}}}));
  EXPECT_EQ(mounts.back()["options"], json({"rbind", "rprivate", "nosuid", "nodev"}));
}

TEST(ConfigGen, RejectsInvalidInputs) {
  struct Case {
    const char* what;
    std::function<void(ImageConfig&, ContainerRequest&, GenerateContext&)> change;
    const char* says;
  };
  std::vector<Case> cases = {
      {"no command", [](auto& i, auto&, auto&) { i.cmd.clear(); }, "no command"},
      {"bad env", [](auto&, auto& r, auto&) { r.env = {"NOEQUALS"}; }, "expected KEY=VALUE"},
      {"env without key", [](auto&, auto& r, auto&) { r.env = {"=x"}; }, "expected KEY=VALUE"},
      {"volume over hosts",
       [](auto&, auto& r, auto&) {
         r.volumes = {{"/srv", "/etc/hosts", false}};
       },
       "clashes"},
      {"volume over /proc",
       [](auto&, auto& r, auto&) {
         r.volumes = {{"/srv", "/proc", false}};
       },
       "clashes"},
      {"bad hostname", [](auto&, auto& r, auto&) { r.hostname = "bad_host"; }, "hostname"},
      {"relative workdir", [](auto&, auto& r, auto&) { r.workdir = "srv"; }, "not absolute"},
      {"tiny memory", [](auto&, auto& r, auto&) { r.memory_bytes = 1024; }, "below the minimum"},
      {"zero cpus", [](auto&, auto& r, auto&) { r.cpus = 0; }, "cpus"},
      {"zero pids", [](auto&, auto& r, auto&) { r.pids_limit = 0; }, "pids"},
      {"unknown user", [](auto&, auto& r, auto&) { r.user = "ghost"; }, "ghost"},
      {"relative rootfs", [](auto&, auto&, auto& c) { c.rootfs = "merged"; }, "rootfs"},
      {"no layers", [](auto&, auto&, auto& c) { c.overlay.lower_dirs.clear(); }, "no layers"},
      {"no id", [](auto&, auto&, auto& c) { c.container_id.clear(); }, "container id"},
  };
  for (const auto& c : cases) {
    ImageConfig image = busybox_like();
    ContainerRequest request;
    GenerateContext ctx = context();
    c.change(image, request, ctx);
    auto spec = generate_container_config(image, request, ctx);
    ASSERT_FALSE(spec) << c.what;
    EXPECT_NE(spec.error().what().find(c.says), std::string::npos)
        << c.what << ": " << spec.error().what();
  }
}

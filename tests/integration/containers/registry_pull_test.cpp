// Image pulls end to end (issue 7): raind → condenserd → Debian's docker-registry on loopback,
// in every mode the registry offers (plain, TLS + basic auth, bearer tokens), through a proxy
// that breaks blob downloads, with a corrupted blob and a hostile layer; then what a pulled
// image is for: running, refusing removal while used, export/import, prune.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <set>
#include <thread>

#include "../condenser/harness.hpp"
#include "raind/sys/files.hpp"

using namespace raind::testing;
namespace fs = std::filesystem;

namespace {

fs::path image_dir() {
  if (const char* d = std::getenv("RAIND_TEST_IMAGE_DIR")) return d;
  return fs::path(RAIND_BINARY_DIR) / "test-image";
}

// The cgroup parent of this binary's daemons: the sandbox's own, which the sandbox removes.
std::string cgroup_parent_for_pulls() {
  const char* p = std::getenv("RAIND_TEST_CGROUP_PARENT");
  return p && *p ? p : "raind-containers-test";
}

std::size_t count_entries(const fs::path& dir) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); ++it) ++n;
  return n;
}

std::vector<nlohmann::json> json_lines(const fs::path& file) {
  std::vector<nlohmann::json> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line))
    if (auto j = nlohmann::json::parse(line, nullptr, false); !j.is_discarded()) out.push_back(j);
  return out;
}

// scripts/local-registry.sh for one test: started in the constructor, cleaned in the destructor.
class LocalRegistry {
 public:
  LocalRegistry(fs::path state, int port, std::string mode, std::vector<std::string> extra_env = {})
      : state_(std::move(state)), port_(port) {
    env_ = {"STATE=" + state_.string(), "MODE=" + mode, "PORT=" + std::to_string(port),
            "TOKEN_PORT=" + std::to_string(port + 1), "IMAGE_DIR=" + image_dir().string()};
    env_.insert(env_.end(), extra_env.begin(), extra_env.end());
  }
  ~LocalRegistry() { run({"bash", script(), "clean"}, env_); }
  std::string start_and_push() {
    auto started = run({"bash", script(), "start"}, env_);
    if (started.code != 0) return "start: " + started.err;
    auto pushed = run({"bash", script(), "push"}, env_);
    if (pushed.code != 0) return "push: " + pushed.err;
    return {};
  }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  const fs::path& state() const { return state_; }
  // The registry's own copy of a blob (filesystem storage driver layout).
  fs::path blob_data(const std::string& digest) const {
    std::string hex = digest.substr(7);
    return state_ / "data/docker/registry/v2/blobs/sha256" / hex.substr(0, 2) / hex / "data";
  }

 private:
  static std::string script() {
    return std::string(RAIND_SOURCE_DIR) + "/scripts/local-registry.sh";
  }
  fs::path state_;
  int port_;
  std::vector<std::string> env_;
};

class RegistryPull : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!fs::exists(image_dir() / "oci-layout")) GTEST_SKIP() << "fixture image missing";
    dir_ = std::make_unique<TempDir>("pull");
  }
  void TearDown() override {
    if (daemon_ && daemon_->pid() > 0) {
      auto ls = cli({"container", "ls", "-a", "-q"});
      std::istringstream ids(ls.out);
      std::string id;
      while (ids >> id) cli({"container", "rm", "-f", id});
      daemon_->terminate();
    }
    registries_.clear();
    if (proxy_pid_ > 0) {
      ::kill(proxy_pid_, SIGTERM);
      int status = 0;
      ::waitpid(proxy_pid_, &status, 0);
    }
  }

  LocalRegistry& registry(int port, const std::string& mode, std::vector<std::string> env = {}) {
    registries_.push_back(std::make_unique<LocalRegistry>(
        dir_->path() / ("registry-" + std::to_string(port)), port, mode, std::move(env)));
    auto error = registries_.back()->start_and_push();
    EXPECT_EQ(error, "");
    return *registries_.back();
  }

  void start_daemon(const std::vector<std::string>& insecure, const std::string& extra = {}) {
    std::string list;
    for (const auto& h : insecure) list += (list.empty() ? "\"" : ", \"") + h + "\"";
    fs::create_directories(dir_->path() / "daemon");
    daemon_ = std::make_unique<Daemon>(
        dir_->path() / "daemon", "runtime:\n  cgroup_parent: " + cgroup_parent_for_pulls() +
                                     "\n  nameservers: [198.51.100.2]\n  stop_timeout_s: 3\n"
                                     "images:\n  insecure_registries: [" +
                                     list +
                                     "]\n  certs_dir: " + (dir_->path() / "certs.d").string() +
                                     "\n  max_concurrent_downloads: 3\n" + extra);
    ASSERT_TRUE(daemon_->start()) << daemon_->output();
    host_ = "https://" + daemon_->management();
  }

  raind::testing::Run cli(std::vector<std::string> args) const {
    args.insert(args.begin(), {(bin_dir() / "raind").string(), "--pki-dir",
                               daemon_->pki_dir().string(), "--host", host_});
    return run(args);
  }
  nlohmann::json image_inspect(const std::string& ref) const {
    auto r = cli({"image", "inspect", ref});
    EXPECT_EQ(r.code, 0) << r.err;
    return nlohmann::json::parse(r.out, nullptr, false);
  }
  fs::path store() const { return dir_->path() / "daemon/state/images"; }

  std::unique_ptr<TempDir> dir_;
  std::vector<std::unique_ptr<LocalRegistry>> registries_;
  std::unique_ptr<Daemon> daemon_;
  std::string host_;
  pid_t proxy_pid_ = -1;
};

TEST_F(RegistryPull, EveryManifestKindByTagAndDigestSharingOneLayer) {
  auto& reg = registry(16110, "plain");
  start_daemon({reg.host()});
  const std::string repo = reg.host() + "/busybox";

  auto first = cli({"image", "pull", repo + ":latest"});
  ASSERT_EQ(first.code, 0) << first.err << daemon_->output();
  EXPECT_NE(first.out.find("1 layers downloaded"), std::string::npos) << first.out;
  // Not a terminal: plain progress lines, one per state change.
  EXPECT_NE(first.err.find(": done ("), std::string::npos) << first.err;
  EXPECT_EQ(first.err.find("\x1b["), std::string::npos) << "escape codes without a terminal";
  auto oci = image_inspect(repo + ":latest");
  EXPECT_EQ(oci.value("architecture", ""), "amd64");
  const std::string manifest = oci.value("manifest_digest", "");

  auto v2s2 = cli({"image", "pull", repo + ":v2s2"});
  ASSERT_EQ(v2s2.code, 0) << v2s2.err;
  EXPECT_NE(v2s2.out.find("0 layers downloaded"), std::string::npos) << v2s2.out;
  EXPECT_NE(v2s2.out.find("1 already present"), std::string::npos) << v2s2.out;
  EXPECT_NE(image_inspect(repo + ":v2s2").value("manifest_digest", ""), manifest)
      << "a Docker schema-2 manifest is a different document";

  for (const std::string tag : {"multi", "multi-v2s2"}) {
    auto r = cli({"image", "pull", repo + ":" + tag});
    ASSERT_EQ(r.code, 0) << tag << ": " << r.err;
    auto doc = image_inspect(repo + ":" + tag);
    EXPECT_EQ(doc.value("architecture", ""), "amd64") << tag;
    EXPECT_FALSE(doc.value("index_digest", "").empty()) << tag;
  }
  auto arm = cli({"image", "pull", "--platform", "linux/arm64", repo + ":multi"});
  ASSERT_EQ(arm.code, 0) << arm.err;
  auto arm_doc = image_inspect(repo + ":multi");
  EXPECT_EQ(arm_doc.value("architecture", ""), "arm64");
  const std::string index = arm_doc.value("index_digest", "");

  auto none = cli({"image", "pull", "--platform", "linux/s390x", repo + ":multi"});
  EXPECT_NE(none.code, 0);
  EXPECT_NE(none.err.find("no image for linux/s390x"), std::string::npos) << none.err;
  EXPECT_NE(none.err.find("linux/arm64"), std::string::npos) << "lists what there is: " << none.err;

  auto by_digest = cli({"image", "pull", repo + "@" + manifest});
  ASSERT_EQ(by_digest.code, 0) << by_digest.err;
  EXPECT_EQ(image_inspect(repo + "@" + manifest).value("manifest_digest", ""), manifest);
  auto by_index = cli({"image", "pull", repo + "@" + index});
  ASSERT_EQ(by_index.code, 0) << by_index.err;
  EXPECT_EQ(image_inspect(repo + "@" + index).value("architecture", ""), "amd64");
  // And the Docker kinds by digest: the schema-2 manifest and the manifest list.
  const std::string v2s2_digest = image_inspect(repo + ":v2s2").value("manifest_digest", "");
  const std::string list_digest = image_inspect(repo + ":multi-v2s2").value("index_digest", "");
  for (const auto& digest : {v2s2_digest, list_digest}) {
    auto r = cli({"image", "pull", repo + "@" + digest});
    ASSERT_EQ(r.code, 0) << digest << ": " << r.err;
    EXPECT_EQ(image_inspect(repo + "@" + digest).value("architecture", ""), "amd64");
  }
  // A digest the registry does not have is an error, not a pull of something else.
  auto unknown = cli({"image", "pull", repo + "@sha256:" + std::string(64, 'e')});
  EXPECT_NE(unknown.code, 0);
  EXPECT_NE(unknown.err.find("not found"), std::string::npos) << unknown.err;

  // Every image above is the same busybox layer: unpacked once.
  EXPECT_EQ(count_entries(store() / "layers"), 1u);
  EXPECT_EQ(count_entries(store() / "tmp"), 0u) << "no partial download left";

  auto missing = cli({"image", "pull", repo + ":nope"});
  EXPECT_NE(missing.code, 0);
  EXPECT_NE(missing.err.find("not found"), std::string::npos) << missing.err;
  auto bad = cli({"image", "pull", "Bad/Name"});
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.err.find("body.reference"), std::string::npos) << bad.err;

  // What a pulled image is for.
  auto ran = cli({"container", "run", "--rm", repo + ":v2s2", "echo", "pulled-and-ran"});
  EXPECT_EQ(ran.code, 0) << ran.err << daemon_->output();
  EXPECT_NE(ran.out.find("pulled-and-ran"), std::string::npos) << ran.out;
}

TEST_F(RegistryPull, DockerHubNamesComeFromTheConfiguredMirror) {
  auto& mirror = registry(16250, "plain");
  // No internet here: the pull can only succeed through the mirror, which serves the
  // Docker-Hub-style path library/busybox.
  start_daemon({mirror.host()}, "  registry_mirrors: [\"http://" + mirror.host() + "\"]\n");
  auto pulled = cli({"image", "pull", "busybox"});
  ASSERT_EQ(pulled.code, 0) << pulled.err << daemon_->output();
  EXPECT_NE(pulled.err.find("http://" + mirror.host()), std::string::npos) << pulled.err;
  auto doc = image_inspect("docker.io/library/busybox:latest");
  EXPECT_EQ(doc.value("reference", ""), "busybox:latest");
  EXPECT_EQ(doc.value("canonical", ""), "registry-1.docker.io/library/busybox:latest");
}

TEST_F(RegistryPull, TlsWithBasicAuthNeedsLoginAndLogoutForgets) {
  auto& reg = registry(16130, "tls");
  fs::create_directories(dir_->path() / "certs.d" / reg.host());
  fs::copy_file(reg.state() / "client-certs/ca.crt",
                dir_->path() / "certs.d" / reg.host() / "ca.crt");
  start_daemon({});
  const std::string ref = reg.host() + "/busybox:latest";

  auto anonymous = cli({"image", "pull", ref});
  EXPECT_NE(anonymous.code, 0);
  EXPECT_NE(anonymous.err.find("requires authentication"), std::string::npos) << anonymous.err;

  auto wrong = cli({"image", "login", reg.host(), "-u", "raind", "-p", "wrong"});
  EXPECT_NE(wrong.code, 0);
  EXPECT_NE(wrong.err.find("login to " + reg.host() + " failed"), std::string::npos) << wrong.err;
  const fs::path auth = dir_->path() / "daemon/state/auth.json";
  EXPECT_FALSE(fs::exists(auth)) << "nothing stored for rejected credentials";

  auto login = cli({"image", "login", reg.host(), "-u", "raind", "-p", "raindpass"});
  ASSERT_EQ(login.code, 0) << login.err << daemon_->output();
  struct stat st {};
  ASSERT_EQ(::stat(auth.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto doc = nlohmann::json::parse(*raind::sys::read_file(auth), nullptr, false);
  // base64("raind:raindpass"), the docker config.json format
  EXPECT_EQ(doc["auths"][reg.host()].value("auth", ""), "cmFpbmQ6cmFpbmRwYXNz") << doc.dump();

  auto pulled = cli({"image", "pull", ref});
  ASSERT_EQ(pulled.code, 0) << pulled.err << daemon_->output();

  auto logout = cli({"image", "logout", reg.host()});
  ASSERT_EQ(logout.code, 0) << logout.err;
  auto after = cli({"image", "pull", reg.host() + "/busybox:v2s2"});
  EXPECT_NE(after.code, 0) << "credentials must be gone after logout";
  auto again = cli({"image", "logout", reg.host()});
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.err.find("not logged in"), std::string::npos) << again.err;
}

TEST_F(RegistryPull, BearerTokenFlowWithAccessTokenOnly) {
  auto& reg = registry(16150, "token", {"TOKEN_FIELDS=access_token"});
  start_daemon({reg.host()});
  auto pulled = cli({"image", "pull", reg.host() + "/busybox:multi"});
  ASSERT_EQ(pulled.code, 0) << pulled.err << daemon_->output();
  // The push (skopeo, with credentials) asked too; the daemon's anonymous pull is the rest.
  std::vector<nlohmann::json> ours;
  for (const auto& r : json_lines(reg.state() / "token-requests.jsonl")) {
    EXPECT_EQ(r["fields"], nlohmann::json::array({"access_token"}));
    if (!r.value("authorised", true) && r.value("service", "") == "raind-local-registry")
      ours.push_back(r);
  }
  // One token serves the manifest, the index entry, the config and the layer.
  ASSERT_EQ(ours.size(), 1u) << nlohmann::json(ours).dump();
  EXPECT_EQ(ours[0]["scope"], nlohmann::json::array({"repository:busybox:pull"}));

  auto wrong = cli({"image", "login", reg.host(), "-u", "raind", "-p", "nope"});
  EXPECT_NE(wrong.code, 0);
  auto right = cli({"image", "login", reg.host(), "-u", "raind", "-p", "raindpass"});
  EXPECT_EQ(right.code, 0) << right.err;
}

TEST_F(RegistryPull, ABrokenBlobDownloadResumesWithRange) {
  auto& reg = registry(16170, "plain");
  const int proxy_port = 16172;
  const fs::path log = dir_->path() / "proxy.jsonl";
  proxy_pid_ = ::fork();
  if (proxy_pid_ == 0) {
    std::string port = std::to_string(proxy_port), upstream = reg.host();
    ::execl("/usr/bin/python3", "python3",
            (std::string(RAIND_SOURCE_DIR) + "/tests/fixtures/registry-fault-proxy.py").c_str(),
            "--listen-port", port.c_str(), "--upstream", upstream.c_str(), "--log", log.c_str(),
            "--cut-after", "65536", "--cut-times", "1", nullptr);
    ::_exit(127);
  }
  for (int i = 0; i < 100 && run({"curl", "-sf", "-o", "/dev/null",
                                  "http://127.0.0.1:" + std::to_string(proxy_port) + "/v2/"})
                                     .code != 0;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const std::string via = "127.0.0.1:" + std::to_string(proxy_port);
  start_daemon({via});

  auto pulled = cli({"image", "pull", via + "/busybox:latest"});
  ASSERT_EQ(pulled.code, 0) << pulled.err << daemon_->output();
  auto lines = json_lines(log);
  bool cut = false, resumed = false;
  for (const auto& l : lines) {
    if (l.value("cut", false)) cut = true;
    if (cut && l["range"].is_string() && l["range"].get<std::string>().starts_with("bytes=") &&
        l.value("status", 0) == 206)
      resumed = true;
  }
  EXPECT_TRUE(cut) << nlohmann::json(lines).dump();
  EXPECT_TRUE(resumed) << "no Range request after the cut: " << nlohmann::json(lines).dump();
  auto ran = cli({"container", "run", "--rm", via + "/busybox:latest", "echo", "whole"});
  EXPECT_NE(ran.out.find("whole"), std::string::npos) << ran.err;
}

TEST_F(RegistryPull, CorruptedBlobIsRefusedAndNothingIsStored) {
  auto& reg = registry(16190, "plain");
  start_daemon({reg.host()});
  // The layer's digest, from the registry itself.
  auto manifest = run({"curl", "-sf", "-H", "Accept: application/vnd.oci.image.manifest.v1+json",
                       "http://" + reg.host() + "/v2/busybox/manifests/latest"});
  auto layer = nlohmann::json::parse(manifest.out)["layers"][0]["digest"].get<std::string>();
  auto data = reg.blob_data(layer);
  ASSERT_TRUE(fs::exists(data));
  {
    std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(1000);
    f.put('\x42');  // same size, different content
  }
  auto pulled = cli({"image", "pull", reg.host() + "/busybox:latest"});
  EXPECT_NE(pulled.code, 0);
  EXPECT_NE(pulled.err.find("digest mismatch"), std::string::npos) << pulled.err;
  EXPECT_EQ(count_entries(store() / "blobs/sha256"), 0u);
  EXPECT_EQ(count_entries(store() / "layers"), 0u);
  EXPECT_EQ(count_entries(store() / "tmp"), 0u);
  auto ls = cli({"image", "ls", "--json"});
  EXPECT_EQ(nlohmann::json::parse(ls.out, nullptr, false), nlohmann::json::array());
}

TEST_F(RegistryPull, HostileLayerFromARegistryIsRejected) {
  auto& reg = registry(16210, "plain");
  auto evil = write_hostile_docker_archive(dir_->path());
  auto pushed = run({"skopeo", "--insecure-policy", "copy", "-q", "--dest-tls-verify=false",
                     "docker-archive:" + evil.string(), "docker://" + reg.host() + "/evil:latest"});
  ASSERT_EQ(pushed.code, 0) << pushed.err;
  start_daemon({reg.host()});
  auto pulled = cli({"image", "pull", reg.host() + "/evil:latest"});
  EXPECT_NE(pulled.code, 0);
  EXPECT_NE(pulled.err.find("layer entry '../escape'"), std::string::npos) << pulled.err;
  EXPECT_EQ(count_entries(store() / "layers"), 0u);
  EXPECT_FALSE(fs::exists(store() / "layers/escape"));
  EXPECT_FALSE(fs::exists(store() / "escape"));
  for (auto it = fs::recursive_directory_iterator(dir_->path());
       it != fs::recursive_directory_iterator(); ++it)
    EXPECT_NE(it->path().filename(), "escape") << it->path();
}

TEST_F(RegistryPull, MissingImageIsPulledOnCreateAndInUseImagesCannotBeRemoved) {
  auto& reg = registry(16230, "plain");
  start_daemon({reg.host()});
  const std::string ref = reg.host() + "/busybox:latest";

  auto created = cli({"container", "create", "--name", "user-of-busybox", ref, "true"});
  ASSERT_EQ(created.code, 0) << created.err << daemon_->output();
  EXPECT_NE(created.err.find("pulling"), std::string::npos) << created.err;

  auto refused = cli({"image", "rm", ref});
  EXPECT_NE(refused.code, 0);
  EXPECT_NE(refused.err.find("used by 1 container(s): user-of-busybox"), std::string::npos)
      << refused.err;
  EXPECT_EQ(count_entries(store() / "layers"), 1u);

  // A second name for the same image can go; the last one cannot.
  ASSERT_EQ(cli({"image", "pull", reg.host() + "/busybox:v2s2"}).code, 0);
  auto second = cli({"image", "rm", reg.host() + "/busybox:v2s2"});
  EXPECT_EQ(second.code, 0) << second.err;

  ASSERT_EQ(cli({"container", "rm", "user-of-busybox"}).code, 0);
  auto removed = cli({"image", "rm", ref});
  ASSERT_EQ(removed.code, 0) << removed.err;
  EXPECT_NE(removed.out.find("freed"), std::string::npos) << removed.out;
  EXPECT_EQ(count_entries(store() / "layers"), 0u) << "automatic collection of the last user";
  EXPECT_EQ(count_entries(store() / "blobs/sha256"), 0u);

  // Export / import round trip, and prune --all.
  ASSERT_EQ(cli({"image", "pull", ref}).code, 0);
  const fs::path tarball = dir_->path() / "busybox-export.tar";
  auto exported = cli({"image", "export", ref, "-o", tarball.string()});
  ASSERT_EQ(exported.code, 0) << exported.err;
  auto skopeo = run({"skopeo", "--insecure-policy", "inspect", "oci-archive:" + tarball.string()});
  EXPECT_EQ(skopeo.code, 0) << "not a valid OCI archive: " << skopeo.err;
  auto pruned = cli({"image", "prune", "--all"});
  ASSERT_EQ(pruned.code, 0) << pruned.err;
  EXPECT_NE(pruned.out.find("removed " + ref), std::string::npos) << pruned.out;
  EXPECT_EQ(count_entries(store() / "layers"), 0u);
  auto imported = cli({"image", "import", tarball.string()});
  ASSERT_EQ(imported.code, 0) << imported.err;
  auto ran = cli({"container", "run", "--rm", ref, "echo", "round-trip"});
  EXPECT_NE(ran.out.find("round-trip"), std::string::npos) << ran.err << daemon_->output();

  // A client that is not raind: the API pulls the missing image itself, for this platform.
  nlohmann::json create = {{"image", reg.host() + "/busybox:multi"}};
  create["command"] = nlohmann::json::array({"true"});
  auto api = call(Target{daemon_->management(), ""}, daemon_->cli_identity(), daemon_->ca_pem(),
                  "POST", "/v1/containers", create.dump());
  EXPECT_EQ(api.status, 201u) << api.body;
  EXPECT_EQ(image_inspect(reg.host() + "/busybox:multi").value("architecture", ""), "amd64");
}

}  // namespace

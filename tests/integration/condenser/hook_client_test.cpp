// `condenserd hook --event <phase>` as droplet runs it: the real binary, the OCI state on stdin,
// against a running daemon. createRuntime bootstraps the container identity through the CA
// listener; later events report over the hooks unix socket as the container itself.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

#include <fstream>
#include <iterator>

#include "condenser/store/store.hpp"
#include "harness.hpp"
#include "raind/sys/process.hpp"

using namespace raind::testing;
namespace ossl = raind::condenser::ossl;
namespace store = raind::condenser::store;

namespace {

constexpr const char* kCreating = "c0ffee000001";
constexpr const char* kNoIdentity = "c0ffee000002";

std::string state_json(const std::string& id, const std::string& status) {
  return nlohmann::json{{"ociVersion", "1.0.2"},
                        {"id", id},
                        {"status", status},
                        {"pid", static_cast<int>(::getpid())},
                        {"bundle", "/nonexistent/bundle"},
                        {"annotations", nlohmann::json::object()}}
      .dump();
}

}  // namespace

class HookClient : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("hookclient");
    daemon_ = std::make_unique<Daemon>(dir_->path());
    ASSERT_TRUE(daemon_->start()) << daemon_->output();
    // The rows the container service would write before running droplet (see ca_hooks_test).
    auto s = store::Store::open(daemon_->db_path());
    ASSERT_TRUE(s) << s.error().what();
    store_ = std::move(*s);
    for (const char* id : {kCreating, kNoIdentity}) {
      const std::string spec = nlohmann::json{
          {"id", id},
          {"name", fmt::format("n{}", id)},
          {"image", "busybox"},
          {"state", "creating"}}.dump();
      ASSERT_TRUE(store_->insert_container(
          {id, fmt::format("n{}", id), "creating", 0, "busybox", {}, spec, ""}));
    }
  }

  raind::testing::Run hook(const std::string& event, const std::string& stdin_text) {
    raind::sys::RunOptions options;
    options.stdin_data = stdin_text;
    options.timeout = std::chrono::seconds(30);
    auto r = raind::sys::run({(bin_dir() / "condenserd").string(), "hook", "--event", event,
                              "--config", daemon_->config_path().string()},
                             options);
    raind::testing::Run out;
    if (!r) {
      out.err = r.error().what();
      return out;
    }
    out.code = r->status.shell_code();
    out.out = r->out;
    out.err = r->err;
    return out;
  }

  std::filesystem::path identity_dir(const std::string& id) const {
    return daemon_->root() / "state/containers" / id / "identity";
  }

  std::size_t count_actions(const std::string& action) const {
    std::size_t n = 0;
    for (const auto& rec : daemon_->audit())
      if (rec["action"] == action) ++n;
    return n;
  }

  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(HookClient, CreateRuntimeBootstrapsIdentityAndPoststartReports) {
  auto r = hook("createRuntime", state_json(kCreating, "creating"));
  ASSERT_EQ(r.code, 0) << r.err << daemon_->output();
  EXPECT_EQ(r.err, "");

  const auto dir = identity_dir(kCreating);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  ASSERT_EQ(::stat((dir / "cert.pem").c_str(), &st), 0);
  std::ifstream cert_in(dir / "cert.pem");
  std::string cert_pem((std::istreambuf_iterator<char>(cert_in)), {});
  auto cert = ossl::read_cert_pem(cert_pem);
  ASSERT_TRUE(cert);
  EXPECT_EQ(ossl::cert_uri_sans(cert->get()),
            std::vector<std::string>{"spiffe://raind/container/c0ffee000001"});

  auto row = store_->find_container(kCreating);
  ASSERT_TRUE(row && *row);
  EXPECT_EQ((*row)->spiffe_id.value_or(""), "spiffe://raind/container/c0ffee000001");

  auto records = daemon_->wait_audit(2);
  ASSERT_EQ(count_actions("pki.sign"), 1u);
  ASSERT_EQ(count_actions("hook.createRuntime"), 1u);
  for (const auto& rec : records) {
    if (rec["action"] != "hook.createRuntime") continue;
    EXPECT_EQ(rec["result"]["code"], 200) << rec.dump();
    EXPECT_EQ(rec["result"].value("status", ""), "allow") << rec.dump();
    EXPECT_EQ(rec["actor"]["spiffe_id"], "spiffe://raind/container/c0ffee000001");
    EXPECT_EQ(rec["actor"]["certt_fingerprint"], ossl::cert_fingerprint(cert->get()));
  }

  // A second createRuntime (droplet retried) keeps the identity instead of re-issuing.
  r = hook("createRuntime", state_json(kCreating, "creating"));
  ASSERT_EQ(r.code, 0) << r.err;
  daemon_->wait_audit(3);
  EXPECT_EQ(count_actions("pki.sign"), 1u);

  const auto before = daemon_->audit().size();
  r = hook("poststart", state_json(kCreating, "running"));
  ASSERT_EQ(r.code, 0) << r.err << daemon_->output();
  auto rec = daemon_->wait_audit(before + 1).back();
  EXPECT_EQ(rec["action"], "hook.poststart");
  EXPECT_EQ(rec["target"]["container_id"], kCreating);
  EXPECT_EQ(rec["result"]["code"], 200) << rec.dump();
  EXPECT_EQ(rec["result"].value("status", ""), "allow") << rec.dump();
  // Sent over the unix socket: only those connections carry the peer's credentials.
  EXPECT_EQ(rec["extra"].value("peer_uid", -1), static_cast<int>(::getuid())) << rec.dump();
}

TEST_F(HookClient, UnknownContainerFailsWithTheDaemonsMessage) {
  auto r = hook("createRuntime", state_json("0123456789ab", "creating"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.err.starts_with("condenserd hook: ")) << r.err;
  EXPECT_NE(r.err.find("0123456789ab"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("does not exist"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(identity_dir("0123456789ab") / "key.pem"));
}

TEST_F(HookClient, MalformedStdinFails) {
  auto r = hook("createRuntime", "this is not json");
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.err.starts_with("condenserd hook: ")) << r.err;
  EXPECT_NE(r.err.find("not a json object"), std::string::npos) << r.err;

  r = hook("poststart", R"({"ociVersion":"1.0.2","status":"running"})");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("'id'"), std::string::npos) << r.err;

  for (const char* bad : {"C0FFEE000001", "c0ffee01", "../../etc/x1", "c0ffee0000012"}) {
    r = hook("createRuntime", state_json(bad, "creating"));
    EXPECT_EQ(r.code, 1) << bad;
    EXPECT_NE(r.err.find("not a container id"), std::string::npos) << r.err;
  }
  EXPECT_EQ(count_actions("pki.sign"), 0u);
}

TEST_F(HookClient, EventWithoutIdentityFails) {
  auto r = hook("poststart", state_json(kNoIdentity, "running"));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(r.err.starts_with("condenserd hook: ")) << r.err;
  EXPECT_NE(r.err.find("has no identity"), std::string::npos) << r.err;

  // An unknown phase is refused by the command line parser.
  r = hook("prestart", state_json(kNoIdentity, "creating"));
  EXPECT_NE(r.code, 0);
}

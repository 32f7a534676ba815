#include "harness.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <fmt/core.h>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "raind/digest.hpp"
#include "raind/sys/files.hpp"
#include "raind/sys/process.hpp"

namespace raind::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace ossl = condenser::ossl;

std::filesystem::path bin_dir() {
  if (const char* d = std::getenv("RAIND_BIN_DIR")) return d;
  return std::filesystem::path(RAIND_BINARY_DIR) / "bin";
}

TempDir::TempDir(const std::string& tag) {
  std::filesystem::path base = std::filesystem::temp_directory_path();
  if (const char* root = std::getenv("RAIND_TEST_ROOT"); root && *root) base = root;
  std::string tmpl = (base / ("condenser-" + tag + "-XXXXXX")).string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Identity identity_from(X509* cert, EVP_PKEY* key) {
  return Identity{*ossl::cert_pem(cert), *ossl::private_key_pem(key), ossl::cert_fingerprint(cert)};
}

}  // namespace

Daemon::Daemon(std::filesystem::path root, std::string extra_yaml)
    : root_(std::move(root)), extra_yaml_(std::move(extra_yaml)) {}

Daemon::~Daemon() {
  if (pid_ > 0) kill9();
}

bool Daemon::start(std::vector<std::string> env) {
  std::ofstream cfg(config_path());
  cfg << fmt::format(
      "state_dir: {0}/state\nrun_dir: {0}/run\nlog_dir: {0}/log\npki_dir: {0}/pki\n"
      "log_level: debug\nlisten:\n  management: 127.0.0.1:0\n  hooks: 127.0.0.1:0\n"
      "  ca: 127.0.0.1:0\n",
      root_.string());
  cfg << extra_yaml_;
  cfg.close();
  std::filesystem::remove(root_ / "run/listeners.json");
  const std::string out_path = (root_ / "condenserd.out").string();
  const std::string binary = (bin_dir() / "condenserd").string();
  const std::string config = config_path().string();
  pid_ = fork();
  if (pid_ == 0) {
    int fd = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    for (auto& e : env) putenv(e.data());
    execl(binary.c_str(), "condenserd", "--config", config.c_str(), nullptr);
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    auto text = slurp(root_ / "run/listeners.json");
    if (!text.empty()) {
      listeners_ = nlohmann::json::parse(text, nullptr, false);
      if (listeners_.is_object() && listeners_.value("pid", 0) == pid_) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void Daemon::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

int Daemon::terminate() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string Daemon::output() const {
  return slurp(root_ / "condenserd.out");
}

Identity Daemon::cli_identity() const {
  auto cert = ossl::read_cert_pem(slurp(pki_dir() / "cli.crt"));
  return Identity{slurp(pki_dir() / "cli.crt"), slurp(pki_dir() / "cli.key"),
                  ossl::cert_fingerprint(cert->get())};
}

Identity Daemon::hook_identity() const {
  auto cert = ossl::read_cert_pem(slurp(pki_dir() / "hook.crt"));
  return Identity{slurp(pki_dir() / "hook.crt"), slurp(pki_dir() / "hook.key"),
                  ossl::cert_fingerprint(cert->get())};
}

std::string Daemon::ca_pem() const {
  return slurp(pki_dir() / "ca.crt");
}

Identity Daemon::mint(const std::vector<std::string>& uris, bool server_eku) const {
  auto ca_cert = ossl::read_cert_pem(slurp(pki_dir() / "ca.crt"));
  auto ca_key = ossl::read_private_key_pem(slurp(pki_dir() / "ca.key"));
  auto key = ossl::generate_ec_key();
  condenser::pki::LeafSpec spec{"test-client", {}, {}, uris, server_eku, 1};
  auto cert = condenser::pki::issue(spec, key->get(), ca_cert->get(), ca_key->get());
  return identity_from(cert->get(), key->get());
}

Identity foreign_identity(const std::vector<std::string>& uris) {
  auto ca_key = ossl::generate_ec_key();
  auto ca = condenser::pki::make_ca(ca_key->get(), "evil ca", 1);
  auto key = ossl::generate_ec_key();
  condenser::pki::LeafSpec spec{"evil-client", {}, {}, uris, false, 1};
  auto cert = condenser::pki::issue(spec, key->get(), ca->get(), ca_key->get());
  return identity_from(cert->get(), key->get());
}

std::vector<nlohmann::json> Daemon::audit() const {
  std::vector<nlohmann::json> out;
  std::ifstream in(audit_path());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    out.push_back(nlohmann::json::parse(line, nullptr, false));
  }
  return out;
}

std::vector<nlohmann::json> Daemon::wait_audit(std::size_t n,
                                               std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto records = audit();
  while (records.size() < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    records = audit();
  }
  return records;
}

namespace {

// Runs one async step to completion or until the timeout; false on timeout.
template <class Start>
bool step(asio::io_context& io, std::chrono::milliseconds timeout, Start&& start,
          boost::system::error_code& ec) {
  bool done = false;
  start([&](boost::system::error_code e, auto&&...) {
    ec = e;
    done = true;
  });
  io.restart();
  io.run_for(timeout);
  return done;
}

template <class Socket, class Endpoint>
Reply exchange_on(const Endpoint& ep, const Identity& id, const std::string& ca_pem,
                  const std::string& raw, std::chrono::milliseconds timeout, asio::io_context& io) {
  Reply reply;
  ssl::context ctx(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_3_VERSION);
  ctx.add_certificate_authority(asio::buffer(ca_pem));
  ctx.set_verify_mode(ssl::verify_peer);
  if (!id.cert_pem.empty()) {
    ctx.use_certificate_chain(asio::buffer(id.cert_pem));
    ctx.use_private_key(asio::buffer(id.key_pem), ssl::context::pem);
  }
  ssl::stream<Socket> stream(io, ctx);
  boost::system::error_code ec;
  if (!step(
          io, timeout, [&](auto h) { stream.next_layer().async_connect(ep, h); }, ec) ||
      ec) {
    reply.error = "connect: " + (ec ? ec.message() : std::string("timeout"));
    return reply;
  }
  reply.connected = true;
  if (!step(
          io, timeout, [&](auto h) { stream.async_handshake(ssl::stream_base::client, h); }, ec) ||
      ec) {
    reply.error = "handshake: " + (ec ? ec.message() : std::string("timeout"));
    return reply;
  }
  reply.handshake = true;
  if (!step(
          io, timeout, [&](auto h) { asio::async_write(stream, asio::buffer(raw), h); }, ec) ||
      ec) {
    reply.error = "write: " + (ec ? ec.message() : std::string("timeout"));
    return reply;
  }
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  if (!step(
          io, timeout, [&](auto h) { http::async_read(stream, buffer, parser, h); }, ec)) {
    reply.error = "read: timeout";
    return reply;
  }
  if (ec) {
    reply.error = "read: " + ec.message();
    return reply;
  }
  reply.response = true;
  reply.status = parser.get().result_int();
  reply.body = parser.get().body();
  reply.connection = std::string(parser.get()[http::field::connection]);
  return reply;
}

}  // namespace

Reply exchange(const Target& target, const Identity& id, const std::string& ca_pem,
               const std::string& raw, std::chrono::milliseconds timeout) {
  asio::io_context io;
  if (!target.unix.empty()) {
    return exchange_on<asio::local::stream_protocol::socket>(
        asio::local::stream_protocol::endpoint(target.unix), id, ca_pem, raw, timeout, io);
  }
  auto colon = target.tcp.rfind(':');
  asio::ip::tcp::endpoint ep(asio::ip::make_address(target.tcp.substr(0, colon)),
                             static_cast<unsigned short>(std::stoi(target.tcp.substr(colon + 1))));
  return exchange_on<asio::ip::tcp::socket>(ep, id, ca_pem, raw, timeout, io);
}

std::string http_request(const std::string& method, const std::string& path,
                         const std::string& body, const std::vector<std::string>& headers) {
  std::string raw = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& h : headers) raw += h + "\r\n";
  if (!body.empty() || method == "POST")
    raw += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  raw += "Connection: close\r\n\r\n" + body;
  return raw;
}

Reply call(const Target& target, const Identity& id, const std::string& ca_pem,
           const std::string& method, const std::string& path, const std::string& body,
           const std::vector<std::string>& headers) {
  return exchange(target, id, ca_pem, http_request(method, path, body, headers));
}

Run run(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  sys::RunOptions options;
  options.timeout = std::chrono::seconds(30);
  if (!env.empty()) {
    for (char** e = environ; *e; ++e) options.env.emplace_back(*e);
    options.env.insert(options.env.end(), env.begin(), env.end());
  }
  auto r = sys::run(argv, options);
  Run out;
  if (!r) {
    out.err = r.error().what();
    return out;
  }
  out.code = r->status.shell_code();
  out.out = r->out;
  out.err = r->err;
  return out;
}

std::filesystem::path write_hostile_docker_archive(const std::filesystem::path& dir) {
  auto layer_path = dir / "layer.tar";
  {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_open_filename(a, layer_path.c_str());
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, "../escape");
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, 2);
    archive_write_header(a, e);
    archive_write_data(a, "x\n", 2);
    archive_entry_free(e);
    archive_write_close(a);
    archive_write_free(a);
  }
  auto layer = *raind::sys::read_file(layer_path);
  auto layer_digest = raind::sha256_hex(layer);
  nlohmann::json config = {
      {"architecture", "amd64"},
      {"os", "linux"},
      {"rootfs", {{"type", "layers"}, {"diff_ids", {"sha256:" + layer_digest}}}},
      {"config", nlohmann::json::object()}};
  auto config_text = config.dump();
  auto config_name = raind::sha256_hex(config_text) + ".json";
  nlohmann::json manifest = nlohmann::json::array(
      {{{"Config", config_name}, {"RepoTags", {"evil:latest"}}, {"Layers", {"layer.tar"}}}});
  auto out = dir / "evil.tar";
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  archive_write_open_filename(a, out.c_str());
  auto add = [&](const std::string& name, const std::string& data) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(data.size()));
    archive_write_header(a, e);
    archive_write_data(a, data.data(), data.size());
    archive_entry_free(e);
  };
  add("manifest.json", manifest.dump());
  add(config_name, config_text);
  add("layer.tar", layer);
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

}  // namespace raind::testing

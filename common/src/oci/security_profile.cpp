#include "raind/oci/security_profile.hpp"

#include "raind/oci/capability_names.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "raind/log.hpp"
#include "raind/sys/files.hpp"
#include "raind/sys/process.hpp"

namespace raind::oci {
namespace {

using nlohmann::json;

// Thrown only inside this file; the public functions turn it into an Errc::parse error that
// names the document.
struct PolicyError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class... Args>
[[noreturn]] void bad(fmt::format_string<Args...> format, Args&&... args) {
  throw PolicyError(fmt::format(format, std::forward<Args>(args)...));
}

std::string child(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

std::string shown(const std::string& path) {
  return path.empty() ? "(document)" : path;
}

// A policy is Raind's own format, so a misspelt key is an error rather than silently ignored.
void expect_keys(const json& value, const std::string& path,
                 std::initializer_list<std::string_view> allowed) {
  if (!value.is_object()) bad("{}: expected object, got {}", shown(path), value.type_name());
  for (auto it = value.begin(); it != value.end(); ++it)
    if (std::find(allowed.begin(), allowed.end(), it.key()) == allowed.end())
      bad("{}: unknown field", child(path, it.key()));
}

const json& required(const json& object, const std::string& path, std::string_view key) {
  auto it = object.find(key);
  if (it == object.end()) bad("{}: required", child(path, key));
  return *it;
}

std::string as_string(const json& value, const std::string& path) {
  if (!value.is_string()) bad("{}: expected string, got {}", path, value.type_name());
  auto s = value.get<std::string>();
  if (s.empty()) bad("{}: must not be empty", path);
  return s;
}

std::uint64_t as_uint(const json& value, const std::string& path, std::uint64_t max) {
  std::uint64_t v = 0;
  if (value.is_number_unsigned())
    v = value.get<std::uint64_t>();
  else if (value.is_number_integer() && value.get<std::int64_t>() >= 0)
    v = static_cast<std::uint64_t>(value.get<std::int64_t>());
  else
    bad("{}: expected unsigned integer, got {}", path, value.type_name());
  if (v > max) bad("{}: value {} out of range (max {})", path, v, max);
  return v;
}

std::vector<std::string> as_string_list(const json& value, const std::string& path,
                                        bool allow_empty) {
  if (!value.is_array()) bad("{}: expected array of strings, got {}", path, value.type_name());
  if (value.empty() && !allow_empty) bad("{}: must not be empty", path);
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto item_path = fmt::format("{}[{}]", path, i);
    auto s = as_string(value[i], item_path);
    if (!seen.insert(s).second) bad("{}: duplicate {:?}", item_path, s);
    out.push_back(std::move(s));
  }
  return out;
}

void expect_one_of(const std::string& value, const std::string& path, std::string_view what,
                   std::initializer_list<std::string_view> known) {
  if (std::find(known.begin(), known.end(), value) == known.end())
    bad("{}: unknown {} {:?}", path, what, value);
}

void check_action(const std::string& action, const std::string& path) {
  expect_one_of(action, path, "action",
                {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
                 "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP", "SCMP_ACT_TRACE", "SCMP_ACT_LOG",
                 "SCMP_ACT_NOTIFY"});
}

bool takes_errno(const std::string& action) {
  return action == "SCMP_ACT_ERRNO" || action == "SCMP_ACT_TRACE";
}

constexpr unsigned kMaxErrno = 4095;  // the kernel's MAX_ERRNO

SeccompArg parse_arg(const json& v, const std::string& path) {
  expect_keys(v, path, {"index", "value", "valueTwo", "op"});
  SeccompArg a;
  a.index = static_cast<unsigned>(as_uint(required(v, path, "index"), child(path, "index"), 5));
  a.value = as_uint(required(v, path, "value"), child(path, "value"), UINT64_MAX);
  if (v.contains("valueTwo"))
    a.value_two = as_uint(v["valueTwo"], child(path, "valueTwo"), UINT64_MAX);
  a.op = as_string(required(v, path, "op"), child(path, "op"));
  expect_one_of(a.op, child(path, "op"), "operator",
                {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
                 "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"});
  return a;
}

SeccompSyscall parse_syscall(const json& v, const std::string& path) {
  expect_keys(v, path, {"names", "action", "errnoRet", "args"});
  SeccompSyscall s;
  s.names = as_string_list(required(v, path, "names"), child(path, "names"), false);
  s.action = as_string(required(v, path, "action"), child(path, "action"));
  check_action(s.action, child(path, "action"));
  if (v.contains("errnoRet")) {
    if (!takes_errno(s.action))
      bad("{}: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE", child(path, "errnoRet"));
    s.errno_ret = static_cast<unsigned>(as_uint(v["errnoRet"], child(path, "errnoRet"), kMaxErrno));
  }
  if (v.contains("args")) {
    const json& args = v["args"];
    auto args_path = child(path, "args");
    if (!args.is_array()) bad("{}: expected array, got {}", args_path, args.type_name());
    for (std::size_t i = 0; i < args.size(); ++i)
      s.args.push_back(parse_arg(args[i], fmt::format("{}[{}]", args_path, i)));
  }
  return s;
}

Seccomp parse_seccomp_object(const json& v) {
  const std::string root;
  expect_keys(v, root,
              {"defaultAction", "defaultErrnoRet", "architectures", "flags", "listenerPath",
               "listenerMetadata", "syscalls"});
  Seccomp s;
  s.default_action = as_string(required(v, root, "defaultAction"), "defaultAction");
  check_action(s.default_action, "defaultAction");
  if (s.default_action == "SCMP_ACT_NOTIFY")
    bad("defaultAction: SCMP_ACT_NOTIFY cannot be the default");
  if (v.contains("defaultErrnoRet")) {
    if (!takes_errno(s.default_action))
      bad("defaultErrnoRet: only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE");
    s.default_errno_ret =
        static_cast<unsigned>(as_uint(v["defaultErrnoRet"], "defaultErrnoRet", kMaxErrno));
  }
  s.architectures = as_string_list(required(v, root, "architectures"), "architectures", false);
  for (std::size_t i = 0; i < s.architectures.size(); ++i)
    expect_one_of(
        s.architectures[i], fmt::format("architectures[{}]", i), "architecture",
        {"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64",
         "SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64", "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",
         "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC", "SCMP_ARCH_PPC64",
         "SCMP_ARCH_PPC64LE", "SCMP_ARCH_S390", "SCMP_ARCH_S390X", "SCMP_ARCH_PARISC",
         "SCMP_ARCH_PARISC64", "SCMP_ARCH_RISCV64"});
  if (v.contains("flags")) {
    s.flags = as_string_list(v["flags"], "flags", true);
    for (std::size_t i = 0; i < s.flags.size(); ++i)
      expect_one_of(s.flags[i], fmt::format("flags[{}]", i), "flag",
                    {"SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
                     "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"});
  }
  if (v.contains("listenerPath")) s.listener_path = as_string(v["listenerPath"], "listenerPath");
  if (v.contains("listenerMetadata"))
    s.listener_metadata = as_string(v["listenerMetadata"], "listenerMetadata");
  const json& syscalls = required(v, root, "syscalls");
  if (!syscalls.is_array()) bad("syscalls: expected array, got {}", syscalls.type_name());
  for (std::size_t i = 0; i < syscalls.size(); ++i)
    s.syscalls.push_back(parse_syscall(syscalls[i], fmt::format("syscalls[{}]", i)));
  return s;
}

std::vector<std::string> parse_capabilities_object(const json& v) {
  expect_keys(v, "", {"capabilities"});
  auto caps = as_string_list(required(v, "", "capabilities"), "capabilities", true);
  for (std::size_t i = 0; i < caps.size(); ++i)
    if (std::find(kCapabilityNames.begin(), kCapabilityNames.end(), caps[i]) ==
        kCapabilityNames.end())
      bad("capabilities[{}]: unknown capability {:?}", i, caps[i]);
  return caps;
}

// Parses text as JSON and runs parse on it; every error is prefixed with the source.
template <class Fn>
auto parse_document(std::string_view text, std::string_view source, Fn&& parse)
    -> Result<decltype(parse(json()))> {
  json document;
  try {
    document = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    return failf(Errc::parse, "{}: invalid JSON at byte {}", source, e.byte);
  } catch (const json::out_of_range& e) {  // a number beyond double's range (1e999)
    return failf(Errc::parse, "{}: invalid JSON: {}", source, e.what());
  }
  try {
    return parse(document);
  } catch (const PolicyError& e) {
    return failf(Errc::parse, "{}: {}", source, e.what());
  }
}

Result<std::string> read_policy(const std::filesystem::path& file) {
  auto text = sys::read_file(file);
  if (!text) return std::unexpected(std::move(text.error()).context("read security policy"));
  return text;
}

}  // namespace

Result<Seccomp> parse_seccomp_policy(std::string_view text, std::string_view source) {
  return parse_document(text, source, parse_seccomp_object);
}

Result<std::vector<std::string>> parse_capabilities_policy(std::string_view text,
                                                           std::string_view source) {
  return parse_document(text, source, parse_capabilities_object);
}

Result<std::string> parse_apparmor_profile_name(std::string_view text, std::string_view source) {
  // The first `profile NAME` statement names the profile; comments start with '#'.
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    auto first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    line.remove_prefix(first);
    if (!line.starts_with("profile ")) continue;
    line.remove_prefix(8);
    line.remove_prefix(std::min(line.find_first_not_of(" \t"), line.size()));
    std::string_view name = line.substr(0, line.find_first_of(" \t{"));
    if (name.empty()) break;
    return std::string(name);
  }
  return failf(Errc::parse, "{}: no `profile NAME` statement", source);
}

Result<SecurityProfile> load_security_profile(const std::filesystem::path& policies_dir) {
  SecurityProfile profile;
  auto seccomp_file = policies_dir / kSeccompPolicyFile;
  RAIND_TRY_ASSIGN(std::string seccomp_text, read_policy(seccomp_file));
  RAIND_TRY_ASSIGN(profile.seccomp, parse_seccomp_policy(seccomp_text, seccomp_file.string()));

  auto caps_file = policies_dir / kCapabilitiesPolicyFile;
  RAIND_TRY_ASSIGN(std::string caps_text, read_policy(caps_file));
  RAIND_TRY_ASSIGN(profile.capabilities, parse_capabilities_policy(caps_text, caps_file.string()));

  auto apparmor_file = policies_dir / kAppArmorPolicyFile;
  RAIND_TRY_ASSIGN(std::string apparmor_text, read_policy(apparmor_file));
  RAIND_TRY_ASSIGN(profile.apparmor_profile,
                   parse_apparmor_profile_name(apparmor_text, apparmor_file.string()));
  return profile;
}

nlohmann::json seccomp_to_json(const Seccomp& s) {
  json j = {{"defaultAction", s.default_action}};
  if (s.default_errno_ret) j["defaultErrnoRet"] = *s.default_errno_ret;
  j["architectures"] = s.architectures;
  if (!s.flags.empty()) j["flags"] = s.flags;
  if (!s.listener_path.empty()) j["listenerPath"] = s.listener_path;
  if (!s.listener_metadata.empty()) j["listenerMetadata"] = s.listener_metadata;
  json syscalls = json::array();
  for (const auto& rule : s.syscalls) {
    json r = {{"names", rule.names}, {"action", rule.action}};
    if (rule.errno_ret) r["errnoRet"] = *rule.errno_ret;
    if (!rule.args.empty()) {
      json args = json::array();
      for (const auto& a : rule.args)
        args.push_back(
            {{"index", a.index}, {"value", a.value}, {"valueTwo", a.value_two}, {"op", a.op}});
      r["args"] = args;
    }
    syscalls.push_back(std::move(r));
  }
  j["syscalls"] = std::move(syscalls);
  return j;
}

void apply_security_profile(Spec& spec, const SecurityProfile& profile) {
  if (!spec.process) spec.process.emplace();
  Process& process = *spec.process;
  Capabilities caps;
  caps.bounding = caps.effective = caps.permitted = profile.capabilities;
  process.capabilities = std::move(caps);
  process.no_new_privileges = true;
  process.apparmor_profile = profile.apparmor_profile;
  if (!spec.linux_) spec.linux_.emplace();
  spec.linux_->seccomp = profile.seccomp;

  // spec_to_json() serialises `linux` from raw when the document had one, so the seccomp
  // object must land in raw as well; rebuilding raw from the struct covers both cases.
  json document = spec_to_json(spec);
  document["linux"]["seccomp"] = seccomp_to_json(profile.seccomp);
  spec.raw = std::move(document);
}

Status load_apparmor_profile(const std::filesystem::path& profile_file, bool* loaded,
                             const std::filesystem::path& securityfs_dir) {
  *loaded = false;
  auto log = logger("raind.security");
  std::error_code ec;
  if (!std::filesystem::is_directory(securityfs_dir, ec)) {
    log->warn("AppArmor is not enabled in this kernel ({} absent): profile {} not loaded",
              securityfs_dir.string(), profile_file.string());
    return ok();
  }
  sys::RunOptions options;
  options.timeout = std::chrono::seconds(60);
  auto run = sys::run({"apparmor_parser", "-r", "-W", profile_file.string()}, options);
  if (!run)
    return std::unexpected(
        std::move(run.error())
            .context(fmt::format("load AppArmor profile {}", profile_file.string())));
  if (run->status.shell_code() != 0) {
    std::string err = run->err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return failf(Errc::system, "load AppArmor profile {}: apparmor_parser exited with {}: {}",
                 profile_file.string(), run->status.shell_code(), err);
  }
  *loaded = true;
  log->info("AppArmor profile {} loaded", profile_file.string());
  return ok();
}

}  // namespace raind::oci

#include "raind/droplet/state.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

#include <fmt/format.h>

#include "raind/atomic_file.hpp"
#include "raind/cgroups/manager.hpp"
#include "raind/droplet/parse.hpp"
#include "raind/sys/files.hpp"

namespace raind::droplet {

std::string_view status_name(ContainerStatus status) {
  switch (status) {
    case ContainerStatus::creating:
      return "creating";
    case ContainerStatus::created:
      return "created";
    case ContainerStatus::running:
      return "running";
    case ContainerStatus::paused:
      return "paused";
    case ContainerStatus::stopped:
      return "stopped";
  }
  return "unknown";
}

nlohmann::json record_to_json(const ContainerRecord& r) {
  return nlohmann::json{{"id", r.id},
                        {"init_process_pid", r.init_pid},
                        {"init_process_start", r.init_start_time},
                        {"bundle", r.bundle},
                        {"rootfs", r.rootfs},
                        {"created", r.created},
                        {"annotations", r.annotations},
                        {"cgroup", r.cgroup},
                        {"owner", r.owner},
                        {"config_sha256", r.config_sha256},
                        {"failure", r.failure},
                        {"config", r.config}};
}

Result<ContainerRecord> record_from_json(const nlohmann::json& j) {
  try {
    ContainerRecord r;
    r.id = j.at("id").get<std::string>();
    r.init_pid = j.at("init_process_pid").get<pid_t>();
    r.init_start_time = j.at("init_process_start").get<std::uint64_t>();
    r.bundle = j.value("bundle", "");
    r.rootfs = j.value("rootfs", "");
    r.created = j.value("created", "");
    if (j.contains("annotations") && j["annotations"].is_object())
      r.annotations = j["annotations"].get<std::map<std::string, std::string>>();
    r.cgroup = j.value("cgroup", nlohmann::json());
    r.owner = j.value("owner", "");
    r.config_sha256 = j.value("config_sha256", "");
    r.failure = j.value("failure", "");
    r.config = j.value("config", nlohmann::json::object());
    return r;
  } catch (const nlohmann::json::exception& e) {
    return failf(Errc::parse, "malformed state record: {}", e.what());
  }
}

std::optional<ProcStat> read_proc_stat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return std::nullopt;
  buf[n] = '\0';
  std::string_view text(buf, static_cast<std::size_t>(n));
  // The command name may contain spaces and parentheses: parse after the last ')'.
  auto close = text.rfind(')');
  if (close == std::string_view::npos || close + 2 >= text.size()) return std::nullopt;
  std::string_view rest = text.substr(close + 2);
  ProcStat st;
  st.state = rest[0];
  // Fields after ')' start at field 3 (state). Start time is field 22 → index 19 here.
  int field = 3;
  std::size_t pos = 0;
  while (pos < rest.size()) {
    auto end = rest.find(' ', pos);
    if (end == std::string_view::npos) end = rest.size();
    auto tok = rest.substr(pos, end - pos);
    if (field == 4) std::from_chars(tok.data(), tok.data() + tok.size(), st.ppid);
    if (field == 22) {
      std::from_chars(tok.data(), tok.data() + tok.size(), st.start_time);
      break;
    }
    ++field;
    pos = end + 1;
  }
  return st;
}

bool process_alive(pid_t pid, std::uint64_t start_time) {
  auto st = read_proc_stat(pid);
  if (!st) return false;
  if (st->state == 'Z' || st->state == 'X' || st->state == 'x') return false;
  if (start_time != 0 && st->start_time != start_time) return false;
  return true;
}

Status StateStore::create_dir(std::string_view id) const {
  if (::mkdir(root_.c_str(), 0711) != 0 && errno != EEXIST) {
    RAIND_TRY(sys::mkdir_p(root_, 0711));
  }
  auto d = dir(id);
  if (::mkdir(d.c_str(), 0711) != 0) {
    int err = errno;
    if (err == EEXIST) return failf(Errc::already_exists, "container \"{}\" already exists", id);
    return fail_errno(err, fmt::format("create state directory {}", d.string()));
  }
  return ok();
}

Status StateStore::save(const ContainerRecord& record) const {
  // Runtime state, like the containers it describes, does not outlive a reboot: no fsync.
  return write_file_atomic(dir(record.id) / "state.json", record_to_json(record).dump(), 0600,
                           Durability::atomic_only);
}

Result<ContainerRecord> StateStore::load(std::string_view id) const {
  RAIND_TRY(validate_container_id(id));
  auto path = dir(id) / "state.json";
  auto text = sys::read_file(path);
  if (!text) {
    if (text.error().sys_errno() == ENOENT || text.error().code() == Errc::not_found)
      return failf(Errc::not_found, "container \"{}\" does not exist", id);
    return std::unexpected(std::move(text.error()));
  }
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return failf(Errc::parse, "container \"{}\": state.json is corrupt", id);
  return record_from_json(j);
}

Status StateStore::remove(std::string_view id) const {
  return sys::remove_all(dir(id));
}

Result<std::vector<std::string>> StateStore::ids() const {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(root_, ec)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    if (!entry.is_directory(ec)) continue;
    if (!std::filesystem::exists(entry.path() / "state.json", ec)) continue;
    out.push_back(entry.path().filename().string());
  }
  if (ec) return fail_errno(ec.value(), fmt::format("list {}", root_.string()));
  std::sort(out.begin(), out.end());
  return out;
}

ContainerStatus StateStore::status(const ContainerRecord& record) const {
  if (!process_alive(record.init_pid, record.init_start_time)) return ContainerStatus::stopped;
  if (!record.cgroup.is_null()) {
    auto mgr = cgroups::load_manager(record.cgroup);
    if (mgr) {
      auto frozen = (*mgr)->frozen();
      if (frozen && *frozen) return ContainerStatus::paused;
    }
  }
  struct stat st {};
  if (::lstat(fifo_path(record.id).c_str(), &st) == 0) return ContainerStatus::created;
  return ContainerStatus::running;
}

oci::State oci_state(const ContainerRecord& record, ContainerStatus status) {
  oci::State s;
  s.id = record.id;
  s.status = std::string(status_name(status));
  s.pid = (status == ContainerStatus::stopped) ? 0 : record.init_pid;
  s.bundle = record.bundle;
  s.annotations = record.annotations;
  return s;
}

std::string now_rfc3339() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count() %
            1000000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:09d}Z", buf, ns);
}

}  // namespace raind::droplet

// raind container create|run|start|stop|kill|rm|ls|inspect|logs|exec|wait
// (docs/api.md for the API; the table format follows the original `raind`).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <thread>

#include "raind-cli/client/attach.hpp"
#include "raind-cli/commands/commands.hpp"
#include "raind-cli/output/containers_format.hpp"
#include "raind-cli/output/table.hpp"

namespace raind::cli {
namespace {

struct CreateFlags {
  std::string name;
  std::vector<std::string> env, volumes, ports;
  std::string network;
  bool tty = false;
  bool interactive = false;
  std::string memory;
  double cpus = 0;
  std::int64_t pids_limit = 0;
  std::string user, workdir, hostname, entrypoint, restart;
  bool read_only = false;
  // run only
  bool detach = false;
  bool remove = false;
};

void add_create_flags(CLI::App* sub, CreateFlags& f) {
  sub->add_option("--name", f.name, "container name (default: generated)");
  sub->add_option("-e,--env", f.env, "environment variable KEY=VALUE (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("-v,--volume", f.volumes, "bind mount host:container[:ro] (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("-p,--publish", f.ports,
                  "publish a port host:container[/proto] or host:container:proto (repeatable)")
      ->allow_extra_args(false);
  sub->add_option("--network", f.network, "network to attach to (default raind0)");
  sub->add_flag("-t,--tty", f.tty, "allocate a terminal");
  sub->add_flag("-i,--interactive", f.interactive, "keep stdin open (accepted)");
  sub->add_option("-m,--memory", f.memory, "memory limit, e.g. 512m (default 1g)");
  sub->add_option("--cpus", f.cpus, "CPU limit, e.g. 0.5 (default 0.8)");
  sub->add_option("--pids-limit", f.pids_limit, "process limit (default 512)");
  sub->add_option("-u,--user", f.user, "user[:group] or uid[:gid]");
  sub->add_option("-w,--workdir", f.workdir, "working directory inside the container");
  sub->add_option("--hostname", f.hostname, "host name (default: the container id)");
  sub->add_option("--entrypoint", f.entrypoint, "replace the image's entrypoint");
  sub->add_option("--restart", f.restart, "no | always | on-failure[:N]");
  sub->add_flag("--read-only", f.read_only, "mount the root file system read-only");
  // Everything from the image on is IMAGE [COMMAND [ARG...]], options included.
  sub->prefix_command();
}

Result<nlohmann::json> create_body(const CreateFlags& f, const std::vector<std::string>& rest) {
  if (rest.empty()) return fail(Errc::invalid_argument, "an image is required");
  nlohmann::json body = {{"image", rest.front()}};
  if (rest.size() > 1)
    body["command"] = std::vector<std::string>(std::next(rest.begin()), rest.end());
  if (!f.name.empty()) body["name"] = f.name;
  if (!f.env.empty()) body["env"] = f.env;
  if (!f.volumes.empty()) body["volumes"] = f.volumes;
  if (!f.ports.empty()) body["ports"] = f.ports;
  if (!f.network.empty()) body["network"] = f.network;
  if (f.tty) body["tty"] = true;
  if (!f.memory.empty()) {
    RAIND_TRY_ASSIGN(auto bytes, parse_memory_size(f.memory));
    body["memory"] = bytes;
  }
  if (f.cpus != 0) body["cpus"] = f.cpus;
  if (f.pids_limit != 0) body["pids_limit"] = f.pids_limit;
  if (!f.user.empty()) body["user"] = f.user;
  if (!f.workdir.empty()) body["workdir"] = f.workdir;
  if (!f.hostname.empty()) body["hostname"] = f.hostname;
  if (!f.entrypoint.empty()) body["entrypoint"] = std::vector<std::string>{f.entrypoint};
  if (!f.restart.empty()) body["restart"] = f.restart;
  if (f.read_only) body["read_only"] = true;
  return body;
}

std::string ref_path(const std::string& ref, std::string_view action = {}) {
  std::string path = "/v1/containers/" + url_escape(ref);
  if (!action.empty()) path += "/" + std::string(action);
  return path;
}

void write_out(FILE* stream, const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stream);
  std::fflush(stream);
}

// Polls POST …/wait until the container is stopped; returns its record.
Result<nlohmann::json> wait_stopped(Client& client, const std::string& ref) {
  while (true) {
    RAIND_TRY_ASSIGN(auto data, client.call("POST", ref_path(ref, "wait") + "?timeout=20"));
    if (data.value("state", "") == "stopped") return data;
  }
}

// Prints the container's output as it grows (polling the log) until it stops.
Result<nlohmann::json> stream_until_stopped(Client& client, const std::string& id) {
  std::size_t seen = 0;
  while (true) {
    RAIND_TRY_ASSIGN(auto state, client.call("POST", ref_path(id, "wait") + "?timeout=1"));
    RAIND_TRY_ASSIGN(auto logs, client.request("GET", ref_path(id, "logs")));
    if (logs.body.size() > seen) {
      write_out(stdout, logs.body.substr(seen));
      seen = logs.body.size();
    }
    if (state.value("state", "") == "stopped") return state;
  }
}

int exit_code_of(const nlohmann::json& container) {
  if (container.contains("exit_code") && container["exit_code"].is_number_integer())
    return container["exit_code"].get<int>();
  return 1;
}

// Attaches the terminal; `start_after` starts the container once the session is up. Returns the
// exit code for the process: the container's when it ended, 0 after a detach.
Result<int> attach_session(Client& client, const std::string& id, bool start_after) {
  std::function<Status()> starter;
  if (start_after)
    starter = [&client, id]() -> Status {
      RAIND_TRY(client.call("POST", ref_path(id, "start")));
      return ok();
    };
  RAIND_TRY_ASSIGN(auto end, attach_terminal(client, ref_path(id, "attach"), starter));
  if (end == AttachEnd::detached) {
    std::fprintf(stderr, "\r\ndetached from %s (raind container attach %s)\r\n", id.c_str(),
                 id.c_str());
    return 0;
  }
  RAIND_TRY_ASSIGN(auto stopped, wait_stopped(client, id));
  return exit_code_of(stopped);
}

}  // namespace

void add_container_commands(CLI::App& app, GlobalOptions& g) {
  auto* container = app.add_subcommand("container", "create, run and manage containers");
  container->require_subcommand(1);

  // create / run
  for (const bool is_run : {false, true}) {
    auto* sub = container->add_subcommand(
        is_run ? "run" : "create", is_run ? "create and start a container: IMAGE [COMMAND [ARG...]]"
                                          : "create a container: IMAGE [COMMAND [ARG...]]");
    auto flags = std::make_shared<CreateFlags>();
    add_create_flags(sub, *flags);
    if (is_run) {
      sub->add_flag("-d,--detach", flags->detach, "print the id and return");
      sub->add_flag("--rm", flags->remove, "remove the container once it exits");
    }
    sub->callback([&g, sub, flags, is_run] {
      run_command(g, [&](Client& client) -> Status {
        RAIND_TRY_ASSIGN(auto body, create_body(*flags, sub->remaining()));
        const bool interactive = is_run && flags->tty && !flags->detach;
        // An interactive run attaches before the start so no output is lost.
        if (is_run && !interactive) body["start"] = true;
        // A missing image is pulled first, with progress, as docker does.
        const std::string image = body.value("image", "");
        if (auto local = client.call("GET", "/v1/images/" + url_escape(image));
            !local && local.error().code() == Errc::not_found) {
          std::fprintf(stderr, "image %s is not here: pulling it\n", image.c_str());
          RAIND_TRY(pull_image(client, image, "", false));
        }
        RAIND_TRY_ASSIGN(auto created, client.call("POST", "/v1/containers", body));
        const std::string id = created.value("id", "");
        if (!is_run) {
          std::printf("container: %s created\n", id.c_str());
          return ok();
        }
        if (flags->detach) {
          std::printf("%s\n", id.c_str());
          return ok();
        }
        if (interactive) {
          RAIND_TRY_ASSIGN(int code, attach_session(client, id, true));
          if (flags->remove) {
            RAIND_TRY(wait_stopped(client, id));
            RAIND_TRY(client.call("DELETE", ref_path(id) + "?force=1"));
          }
          g.exit_code = code;
          return ok();
        }
        RAIND_TRY_ASSIGN(auto stopped, stream_until_stopped(client, id));
        if (flags->remove) RAIND_TRY(client.call("DELETE", ref_path(id) + "?force=1"));
        g.exit_code = exit_code_of(stopped);
        return ok();
      });
    });
  }

  auto* start = container->add_subcommand("start", "start a created or stopped container");
  auto start_ref = std::make_shared<std::string>();
  auto start_tty = std::make_shared<bool>(false);
  start->add_option("container", *start_ref, "id, id prefix or name")->required();
  start->add_flag("-t,--tty", *start_tty, "attach a terminal");
  start->callback([&g, start_ref, start_tty] {
    run_command(g, [&](Client& client) -> Status {
      if (*start_tty) {
        RAIND_TRY_ASSIGN(auto c, client.call("GET", ref_path(*start_ref)));
        RAIND_TRY_ASSIGN(g.exit_code, attach_session(client, c.value("id", ""), true));
        return ok();
      }
      RAIND_TRY(client.call("POST", ref_path(*start_ref, "start")));
      std::printf("container: %s started\n", start_ref->c_str());
      return ok();
    });
  });

  auto* stop = container->add_subcommand("stop", "stop a container (TERM, then KILL)");
  auto stop_ref = std::make_shared<std::string>();
  auto stop_time = std::make_shared<int>(-1);
  stop->add_option("container", *stop_ref, "id, id prefix or name")->required();
  stop->add_option("-t,--time", *stop_time, "seconds to wait before KILL (default 10)");
  stop->callback([&g, stop_ref, stop_time] {
    run_command(g, [&](Client& client) -> Status {
      std::string path = ref_path(*stop_ref, "stop");
      if (*stop_time >= 0) path += "?timeout=" + std::to_string(*stop_time);
      RAIND_TRY(client.call("POST", path));
      std::printf("container: %s stopped\n", stop_ref->c_str());
      return ok();
    });
  });

  auto* kill = container->add_subcommand("kill", "send a signal to a container");
  auto kill_ref = std::make_shared<std::string>();
  auto kill_signal = std::make_shared<std::string>("KILL");
  kill->add_option("container", *kill_ref, "id, id prefix or name")->required();
  kill->add_option("-s,--signal", *kill_signal, "signal name or number (default KILL)");
  kill->callback([&g, kill_ref, kill_signal] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY(
          client.call("POST", ref_path(*kill_ref, "kill") + "?signal=" + url_escape(*kill_signal)));
      std::printf("container: %s signalled\n", kill_ref->c_str());
      return ok();
    });
  });

  auto* rm = container->add_subcommand("rm", "remove containers");
  auto rm_refs = std::make_shared<std::vector<std::string>>();
  auto rm_force = std::make_shared<bool>(false);
  rm->add_option("containers", *rm_refs, "ids, id prefixes or names")->required();
  rm->add_flag("-f,--force", *rm_force, "stop running containers first");
  rm->callback([&g, rm_refs, rm_force] {
    run_command(g, [&](Client& client) -> Status {
      Status first = ok();
      for (const auto& ref : *rm_refs) {
        auto removed = client.call("DELETE", ref_path(ref) + (*rm_force ? "?force=1" : ""));
        if (removed) {
          std::printf("container: %s removed\n", ref.c_str());
        } else {
          std::fprintf(stderr, "raind: %s: %s\n", ref.c_str(), removed.error().what().c_str());
          if (first) first = std::unexpected(removed.error());
        }
      }
      if (!first && rm_refs->size() > 1)
        return fail(first.error().code(), "some containers were not removed");
      return first;
    });
  });

  auto* ls = container->add_subcommand("ls", "list containers");
  auto ls_all = std::make_shared<bool>(false);
  auto ls_json = std::make_shared<bool>(false);
  auto ls_quiet = std::make_shared<bool>(false);
  ls->add_flag("-a,--all", *ls_all, "include stopped containers");
  ls->add_flag("--json", *ls_json, "print the raw JSON");
  ls->add_flag("-q,--quiet", *ls_quiet, "print ids only");
  ls->callback([&g, ls_all, ls_json, ls_quiet] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(
          auto data, client.call("GET", std::string("/v1/containers") + (*ls_all ? "?all=1" : "")));
      if (*ls_json) {
        std::printf("%s\n", data.dump(2).c_str());
      } else if (*ls_quiet) {
        for (const auto& c : data) std::printf("%s\n", c.value("id", "").c_str());
      } else {
        Table t({"CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"});
        const std::time_t now = std::time(nullptr);
        for (const auto& c : data) t.add(container_row(c, now));
        write_out(stdout, t.render());
      }
      return ok();
    });
  });

  auto* inspect = container->add_subcommand("inspect", "show a container as JSON");
  auto inspect_ref = std::make_shared<std::string>();
  inspect->add_option("container", *inspect_ref, "id, id prefix or name")->required();
  inspect->callback([&g, inspect_ref] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(auto data, client.call("GET", ref_path(*inspect_ref)));
      std::printf("%s\n", data.dump(2).c_str());
      return ok();
    });
  });

  auto* logs = container->add_subcommand("logs", "print a container's output");
  auto logs_ref = std::make_shared<std::string>();
  auto logs_tail = std::make_shared<int>(-1);
  auto logs_follow = std::make_shared<bool>(false);
  logs->add_option("container", *logs_ref, "id, id prefix or name")->required();
  logs->add_option("-n,--tail", *logs_tail, "only the last N lines");
  logs->add_flag("-f,--follow", *logs_follow, "keep printing new output until the container stops");
  logs->callback([&g, logs_ref, logs_tail, logs_follow] {
    run_command(g, [&](Client& client) -> Status {
      std::string path = ref_path(*logs_ref, "logs");
      std::string query;
      if (*logs_tail >= 0) query = "tail_lines=" + std::to_string(*logs_tail);
      if (*logs_follow) query += std::string(query.empty() ? "" : "&") + "follow=1";
      if (!query.empty()) path += "?" + query;
      // Followed, the daemon streams until the container stops.
      return client.stream(path, [](std::string_view bytes) {
        std::fwrite(bytes.data(), 1, bytes.size(), stdout);
        std::fflush(stdout);
      });
    });
  });

  auto* exec = container->add_subcommand("exec", "run a command in a running container");
  auto exec_env = std::make_shared<std::vector<std::string>>();
  auto exec_workdir = std::make_shared<std::string>();
  auto exec_user = std::make_shared<std::string>();
  auto exec_tty = std::make_shared<bool>(false);
  auto exec_interactive = std::make_shared<bool>(false);
  exec->add_option("-e,--env", *exec_env, "environment variable KEY=VALUE (repeatable)")
      ->allow_extra_args(false);
  exec->add_option("-w,--workdir", *exec_workdir, "working directory");
  exec->add_option("-u,--user", *exec_user, "uid[:gid]");
  exec->add_flag("-t,--tty", *exec_tty, "allocate a terminal");
  exec->add_flag("-i,--interactive", *exec_interactive, "keep stdin open (accepted)");
  exec->prefix_command();
  exec->callback([&g, exec, exec_env, exec_workdir, exec_user, exec_tty] {
    run_command(g, [&](Client& client) -> Status {
      auto rest = exec->remaining();
      if (rest.size() < 2)
        return fail(Errc::invalid_argument, "usage: exec CONTAINER COMMAND [ARG...]");
      nlohmann::json body = {{"command", std::vector<std::string>(rest.begin() + 1, rest.end())}};
      if (!exec_env->empty()) body["env"] = *exec_env;
      if (!exec_workdir->empty()) body["workdir"] = *exec_workdir;
      if (!exec_user->empty()) body["user"] = *exec_user;
      if (*exec_tty) {
        body["tty"] = true;
        RAIND_TRY_ASSIGN(auto started, client.call("POST", ref_path(rest.front(), "exec"), body));
        const std::string session =
            ref_path(rest.front(), "exec") + "/" + std::to_string(started.value("exec_id", 0));
        RAIND_TRY_ASSIGN(auto end, attach_terminal(client, session + "/attach"));
        if (end == AttachEnd::detached) {
          std::fprintf(stderr, "\r\ndetached from the exec session\r\n");
          return ok();
        }
        // The shim records the exit status just after the terminal closes.
        for (int i = 0; i < 100; ++i) {
          RAIND_TRY_ASSIGN(auto state, client.call("GET", session));
          if (!state.value("running", true)) {
            g.exit_code = exit_code_of(state);
            return ok();
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        return fail(Errc::timeout, "the exec session closed but reported no exit status");
      }
      RAIND_TRY_ASSIGN(auto data, client.call("POST", ref_path(rest.front(), "exec"), body));
      write_out(stdout, data.value("stdout", ""));
      write_out(stderr, data.value("stderr", ""));
      g.exit_code = data.value("exit_code", 1);
      return ok();
    });
  });

  auto* attach = container->add_subcommand(
      "attach", "attach this terminal to a container started with -t (detach: Ctrl-P Ctrl-Q)");
  auto attach_ref = std::make_shared<std::string>();
  attach->add_option("container", *attach_ref, "id, id prefix or name")->required();
  attach->callback([&g, attach_ref] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(auto c, client.call("GET", ref_path(*attach_ref)));
      // The daemon refuses too; asking first gives its reason rather than a failed upgrade.
      if (!c.value("tty", false))
        return failf(Errc::conflict,
                     "container '{}' has no terminal (created without -t); use logs and exec",
                     *attach_ref);
      if (c.value("state", "") != "running")
        return failf(Errc::conflict, "container '{}' is not running", *attach_ref);
      std::fprintf(stderr, "Attached. Detach with Ctrl-P Ctrl-Q\r\n");
      RAIND_TRY_ASSIGN(g.exit_code, attach_session(client, c.value("id", ""), false));
      return ok();
    });
  });

  auto* wait =
      container->add_subcommand("wait", "wait for a container to stop; print its exit code");
  auto wait_ref = std::make_shared<std::string>();
  wait->add_option("container", *wait_ref, "id, id prefix or name")->required();
  wait->callback([&g, wait_ref] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(auto stopped, wait_stopped(client, *wait_ref));
      std::printf("%d\n", exit_code_of(stopped));
      return ok();
    });
  });
}

void add_network_commands(CLI::App& app, GlobalOptions& g) {
  auto* network = app.add_subcommand("network", "container networks (bridges)");
  network->require_subcommand(1);

  auto* ls = network->add_subcommand("ls", "list networks");
  auto json = std::make_shared<bool>(false);
  ls->add_flag("--json", *json, "print the raw JSON");
  ls->callback([&g, json] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(auto data, client.call("GET", "/v1/networks"));
      if (*json) {
        std::printf("%s\n", data.dump(2).c_str());
        return ok();
      }
      Table t({"NETWORK", "SUBNET", "GATEWAY", "CONTAINERS"});
      for (const auto& n : data) {
        std::string members;
        for (const auto& c : n.value("containers", nlohmann::json::array())) {
          if (!members.empty()) members += ", ";
          members += c.get<std::string>();
        }
        t.add({n.value("name", ""), n.value("subnet", ""), n.value("gateway", ""),
               members.empty() ? "-" : members});
      }
      write_out(stdout, t.render());
      return ok();
    });
  });

  auto* create = network->add_subcommand("create", "create a network with the next free /24");
  auto name = std::make_shared<std::string>();
  create->add_option("name", *name, "network and bridge name (at most 15 characters)")->required();
  create->callback([&g, name] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY_ASSIGN(auto data, client.call("POST", "/v1/networks", {{"name", *name}}));
      std::printf("network: %s created (%s)\n", name->c_str(), data.value("subnet", "").c_str());
      return ok();
    });
  });

  auto* rm = network->add_subcommand("rm", "remove a network no container uses");
  auto victim = std::make_shared<std::string>();
  rm->add_option("name", *victim, "network name")->required();
  rm->callback([&g, victim] {
    run_command(g, [&](Client& client) -> Status {
      RAIND_TRY(client.call("DELETE", "/v1/networks/" + url_escape(*victim)));
      std::printf("network: %s removed\n", victim->c_str());
      return ok();
    });
  });
}

}  // namespace raind::cli

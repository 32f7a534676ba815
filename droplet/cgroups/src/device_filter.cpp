#include "raind/cgroups/device_filter.hpp"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "raind/unique_fd.hpp"

namespace raind::cgroups {
namespace {

bpf_insn insn(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off,
              std::int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst & 0xf;
  i.src_reg = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}

constexpr std::uint8_t R0 = 0, R1 = 1, R2 = 2, R3 = 3, R4 = 4, R5 = 5, R6 = 6;

bpf_insn load_word(std::uint8_t dst, std::int16_t offset) {
  return insn(BPF_LDX | BPF_MEM | BPF_W, dst, R1, offset, 0);
}
bpf_insn alu_imm(std::uint8_t op, std::uint8_t dst, std::int32_t imm) {
  return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
bpf_insn mov_reg(std::uint8_t dst, std::uint8_t src) {
  return insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0);
}
bpf_insn jne_imm(std::uint8_t reg, std::int32_t imm, std::int16_t off) {
  return insn(BPF_JMP | BPF_JNE | BPF_K, reg, 0, off, imm);
}
bpf_insn jeq_imm(std::uint8_t reg, std::int32_t imm, std::int16_t off) {
  return insn(BPF_JMP | BPF_JEQ | BPF_K, reg, 0, off, imm);
}
bpf_insn exit_insn() {
  return insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

std::int32_t access_mask(const std::string& access) {
  std::int32_t mask = 0;
  for (char c : access) {
    if (c == 'm') mask |= BPF_DEVCG_ACC_MKNOD;
    if (c == 'r') mask |= BPF_DEVCG_ACC_READ;
    if (c == 'w') mask |= BPF_DEVCG_ACC_WRITE;
  }
  return mask;
}

constexpr std::int32_t kAllAccess = BPF_DEVCG_ACC_MKNOD | BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE;

}  // namespace

std::vector<bpf_insn> compile_device_filter(const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> prog;
  // struct bpf_cgroup_dev_ctx { u32 access_type /* access << 16 | type */; u32 major; u32 minor; }
  prog.push_back(load_word(R2, 0));
  prog.push_back(alu_imm(BPF_AND, R2, 0xffff));  // r2 = device type
  prog.push_back(load_word(R3, 0));
  prog.push_back(alu_imm(BPF_RSH, R3, 16));  // r3 = requested access
  prog.push_back(load_word(R4, 4));          // r4 = major
  prog.push_back(load_word(R5, 8));          // r5 = minor

  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    const DeviceRule& rule = *it;
    std::vector<bpf_insn> block;
    // Each "skip" jump is patched to land just past this block.
    std::vector<std::size_t> skips;
    if (rule.type == 'c' || rule.type == 'b') {
      skips.push_back(block.size());
      block.push_back(jne_imm(R2, rule.type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK, 0));
    }
    std::int32_t mask = access_mask(rule.access.empty() ? "rwm" : rule.access);
    if (mask != kAllAccess) {
      block.push_back(mov_reg(R6, R3));
      if (rule.allow) {
        // An allow rule covers the request only if every requested bit is in its access set.
        block.push_back(alu_imm(BPF_AND, R6, ~mask & kAllAccess));
        skips.push_back(block.size());
        block.push_back(jne_imm(R6, 0, 0));
      } else {
        // A deny rule refuses any request that shares a bit with it: "deny w" must also refuse
        // an O_RDWR open (read|write), as the v1 devices controller does.
        block.push_back(alu_imm(BPF_AND, R6, mask));
        skips.push_back(block.size());
        block.push_back(jeq_imm(R6, 0, 0));
      }
    }
    if (rule.major && *rule.major >= 0) {
      skips.push_back(block.size());
      block.push_back(jne_imm(R4, static_cast<std::int32_t>(*rule.major), 0));
    }
    if (rule.minor && *rule.minor >= 0) {
      skips.push_back(block.size());
      block.push_back(jne_imm(R5, static_cast<std::int32_t>(*rule.minor), 0));
    }
    block.push_back(alu_imm(BPF_MOV, R0, rule.allow ? 1 : 0));
    block.push_back(exit_insn());
    for (std::size_t at : skips) block[at].off = static_cast<std::int16_t>(block.size() - at - 1);
    prog.insert(prog.end(), block.begin(), block.end());
    // A rule without conditions decides every request: anything after it would be unreachable,
    // which the verifier rejects.
    if (skips.empty()) return prog;
  }
  prog.push_back(alu_imm(BPF_MOV, R0, 0));  // no rule matched: deny
  prog.push_back(exit_insn());
  return prog;
}

Status attach_device_filter(const std::filesystem::path& cgroup_dir,
                            const std::vector<bpf_insn>& program) {
  static const char kLicense[] = "Apache-2.0";
  char log[4096] = {0};
  bpf_attr load{};
  load.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  load.insns = reinterpret_cast<std::uint64_t>(program.data());
  load.insn_cnt = static_cast<std::uint32_t>(program.size());
  load.license = reinterpret_cast<std::uint64_t>(kLicense);
  load.log_buf = reinterpret_cast<std::uint64_t>(log);
  load.log_size = sizeof(log);
  load.log_level = 1;
  int prog_fd = static_cast<int>(::syscall(SYS_bpf, BPF_PROG_LOAD, &load, sizeof(load)));
  if (prog_fd < 0) {
    int err = errno;
    return fail_errno(err, fmt::format("load device filter ({} instructions){}{}", program.size(),
                                       log[0] ? ": verifier: " : "", log));
  }
  UniqueFd prog(prog_fd);
  UniqueFd cg(::open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!cg) return fail_errno(fmt::format("open cgroup {}", cgroup_dir.string()));
  bpf_attr attach{};
  attach.target_fd = static_cast<std::uint32_t>(cg.get());
  attach.attach_bpf_fd = static_cast<std::uint32_t>(prog.get());
  attach.attach_type = BPF_CGROUP_DEVICE;
  attach.attach_flags = BPF_F_ALLOW_MULTI;
  if (::syscall(SYS_bpf, BPF_PROG_ATTACH, &attach, sizeof(attach)) != 0)
    return fail_errno(fmt::format("attach device filter to {}", cgroup_dir.string()));
  return ok();
}

}  // namespace raind::cgroups

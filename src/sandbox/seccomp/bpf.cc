#include "sandbox/seccomp/bpf.h"

#include <cstddef>
#include <cstring>

namespace hive::seccomp::bpf {

uint32_t ArgLowOffset(uint32_t index) {
  uint32_t off = static_cast<uint32_t>(offsetof(seccomp_data, args)) + 8 * index;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  off += 4;
#endif
  return off;
}

Verdict Run(const std::vector<sock_filter>& program, const seccomp_data& data) {
  uint32_t a = 0, x = 0;
  uint32_t mem[BPF_MEMWORDS] = {};
  const size_t n = program.size();
  size_t pc = 0;
  // A classic BPF program only jumps forward, so it ends within n steps.
  for (size_t steps = 0; pc < n && steps <= n; ++steps) {
    const sock_filter& in = program[pc];
    const uint32_t k = in.k;
    size_t next = pc + 1;
    switch (in.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (k % 4 != 0 || k + 4 > sizeof(seccomp_data)) return {};
        std::memcpy(&a, reinterpret_cast<const char*>(&data) + k, 4);
        break;
      case BPF_LD | BPF_W | BPF_LEN:
        a = sizeof(seccomp_data);
        break;
      case BPF_LDX | BPF_W | BPF_LEN:
        x = sizeof(seccomp_data);
        break;
      case BPF_LD | BPF_IMM:
        a = k;
        break;
      case BPF_LDX | BPF_IMM:
        x = k;
        break;
      case BPF_LD | BPF_MEM:
        if (k >= BPF_MEMWORDS) return {};
        a = mem[k];
        break;
      case BPF_LDX | BPF_MEM:
        if (k >= BPF_MEMWORDS) return {};
        x = mem[k];
        break;
      case BPF_ST:
        if (k >= BPF_MEMWORDS) return {};
        mem[k] = a;
        break;
      case BPF_STX:
        if (k >= BPF_MEMWORDS) return {};
        mem[k] = x;
        break;
      case BPF_MISC | BPF_TAX:
        x = a;
        break;
      case BPF_MISC | BPF_TXA:
        a = x;
        break;
      case BPF_RET | BPF_K:
        return {k, pc};
      case BPF_RET | BPF_A:
        return {a, pc};
      case BPF_JMP | BPF_JA:
        next = pc + 1 + k;
        break;
      default: {
        uint16_t cls = BPF_CLASS(in.code);
        uint32_t src = BPF_SRC(in.code) == BPF_X ? x : k;
        if (cls == BPF_ALU) {
          switch (BPF_OP(in.code)) {
            case BPF_ADD:
              a += src;
              break;
            case BPF_SUB:
              a -= src;
              break;
            case BPF_MUL:
              a *= src;
              break;
            case BPF_DIV:
              if (src == 0) return {};
              a /= src;
              break;
            case BPF_MOD:
              if (src == 0) return {};
              a %= src;
              break;
            case BPF_OR:
              a |= src;
              break;
            case BPF_AND:
              a &= src;
              break;
            case BPF_XOR:
              a ^= src;
              break;
            case BPF_LSH:
              a = src < 32 ? a << src : 0;
              break;
            case BPF_RSH:
              a = src < 32 ? a >> src : 0;
              break;
            case BPF_NEG:
              a = 0u - a;
              break;
            default:
              return {};
          }
        } else if (cls == BPF_JMP) {
          bool taken;
          switch (BPF_OP(in.code)) {
            case BPF_JEQ:
              taken = a == src;
              break;
            case BPF_JGT:
              taken = a > src;
              break;
            case BPF_JGE:
              taken = a >= src;
              break;
            case BPF_JSET:
              taken = (a & src) != 0;
              break;
            default:
              return {};
          }
          next = pc + 1 + (taken ? in.jt : in.jf);
        } else {
          return {};
        }
      }
    }
    pc = next;
  }
  return {};
}

}  // namespace hive::seccomp::bpf

// Classic BPF for seccomp: the few instructions hive-run emits itself, and an interpreter.
//
// hive-run puts a short program of its own in front of libseccomp's: the rules that must win
// over anything a profile says (blocked operations, network off, `override: true` rules) and
// the ENOSYS answer for syscalls newer than the profile. The interpreter replays a filter on
// the seccomp_data of a notification, so the supervisor answers with exactly the errno the
// profile names, and knows which rule fired.
//
//   std::vector<sock_filter> p = ...;
//   hive::seccomp::bpf::Verdict v = hive::seccomp::bpf::Run(p, data);  // v.action, v.index
#pragma once

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace hive::seccomp::bpf {

struct Verdict {
  uint32_t action = SECCOMP_RET_KILL_PROCESS;  // the RET value
  size_t index = 0;                            // instruction that returned it
};

// Executes `program` like the kernel does. A malformed program yields KILL_PROCESS.
Verdict Run(const std::vector<sock_filter>& program, const seccomp_data& data);

inline sock_filter Stmt(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }
inline sock_filter Jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return sock_filter{code, jt, jf, k};
}

// Offset in seccomp_data of the low 32 bits of argument `index`.
uint32_t ArgLowOffset(uint32_t index);

}  // namespace hive::seccomp::bpf

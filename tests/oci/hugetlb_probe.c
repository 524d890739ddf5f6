/* Asks for hugetlb pages each way the kernel offers them, and a plain page, and prints what
 * each call answered: "mmap=EPERM shmget=EPERM memfd=EPERM plain=ok". Built static by the
 * tests (the busybox image has no compiler and no other program that can ask). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

static const char* answer(int failed) {
  if (!failed) return "ok";
  switch (errno) {
    case EPERM: return "EPERM";
    case ENOMEM: return "ENOMEM";
    case ENOENT: return "ENOENT";
    case EINVAL: return "EINVAL";
    default: return strerror(errno);
  }
}

int main(void) {
  const size_t huge = 2 << 20;
  void* p = mmap(NULL, huge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB,
                 -1, 0);
  printf("mmap=%s ", answer(p == MAP_FAILED));
  int id = shmget(IPC_PRIVATE, huge, IPC_CREAT | SHM_HUGETLB | 0600);
  printf("shmget=%s ", answer(id < 0));
  if (id >= 0) shmctl(id, IPC_RMID, NULL);
  int fd = memfd_create("probe", MFD_HUGETLB);
  printf("memfd=%s ", answer(fd < 0));
  void* q = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("plain=%s\n", answer(q == MAP_FAILED));
  return 0;
}

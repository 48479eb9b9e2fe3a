/* Function symbols of ELF files, as file offsets for uprobes. */
#ifndef IOGAP_COLLECT_ELF_H
#define IOGAP_COLLECT_ELF_H

#include <stdint.h>

/* File offsets of function symbols in an ELF file, for uprobes: each name is looked up in
 * .symtab, then .dynsym (STT_FUNC or STT_GNU_IFUNC, defined, st_value != 0); the offset is
 * st_value mapped through the PT_LOAD segment that contains it (st_value - p_vaddr + p_offset).
 * offs[i] = 0 when names[i] is absent. Returns how many were found (0..n), or -errno when the
 * file cannot be opened, -EINVAL when it is not a valid ELF. Uses libelf.
 * A global or weak symbol is preferred to a local one of the same name (in either table). */
int elf_func_offsets(const char *path, const char *const *names, int n, uint64_t *offs);

/*
 * x86-64 code at file offsets of the file open at fd, for the sites where a uprobe costs least:
 * the kernel emulates a push, a call or jmp rel32 and a jmp rel8 at a breakpoint, and steps
 * most other instructions out of line (a trap and a single-step more).
 * elf_exec_range: the file range [lo, hi) of the executable PT_LOAD segment of path holding
 * file offset off; 0, or -ENOENT (none), -EINVAL, -errno.
 * elf_common_callee: the first target of a call or jmp rel32 byte pattern (0xe8, 0xe9, decoded
 * or not) that the functions at the n (at most 4) offsets fo all have in their first 64 bytes,
 * lies in [lo, hi) (their segment: a rel32 adds up in file offsets there) and begins with a
 * push (0x50-0x57, after a REX.B prefix for r8-r15), or with an endbr64 and a push (then the
 * push's offset, a function entry still as far as the stack goes); else 0.
 * elf_emulated_site: the offset of the first emulated instruction in the straight-line start of
 * the function at off, past only decoded endbr64s, register-to-register xors and moves and
 * 32-bit immediate moves, in its first 16 bytes; else 0. For a probe that reads no argument.
 */
int elf_exec_range(const char *path, uint64_t off, uint64_t *lo, uint64_t *hi);
uint64_t elf_common_callee(int fd, const uint64_t *fo, int n, uint64_t lo, uint64_t hi);
uint64_t elf_emulated_site(int fd, uint64_t off);

#endif

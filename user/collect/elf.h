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

#endif

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "collect/elf.h"

/* The file offset of virtual address v, through the PT_LOAD segment that holds it; 0 if none. */
static uint64_t vaddr_to_offset(Elf *e, size_t nphdr, uint64_t v)
{
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (v >= ph.p_vaddr && v - ph.p_vaddr < ph.p_filesz)
			return v - ph.p_vaddr + ph.p_offset;
	}
	return 0;
}

/* Opens path as an ELF file: its descriptor in *fd and its libelf handle in *e (both to close
 * by the caller, elf_end and close); 0, or -errno, -EINVAL (not a regular ELF file). */
static int elf_open(const char *path, int *fd, Elf **e)
{
	struct stat st;
	int err = -EINVAL;

	*e = NULL;
	/* O_NONBLOCK: a FIFO planted under a container's root must not hang us */
	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return -errno;
	if (fstat(*fd, &st))
		err = -errno;
	else if (S_ISREG(st.st_mode) && elf_version(EV_CURRENT) != EV_NONE &&
		 (*e = elf_begin(*fd, ELF_C_READ_MMAP, NULL)) && elf_kind(*e) == ELF_K_ELF &&
		 gelf_getclass(*e))
		return 0;
	if (*e)
		elf_end(*e);
	*e = NULL;
	close(*fd);
	*fd = -1;
	return err;
}

int elf_func_offsets(const char *path, const char *const *names, int n, uint64_t *offs)
{
	int *best = NULL, fd, found = 0, err;
	size_t nphdr = 0;
	Elf_Scn *scn = NULL;
	Elf *e;

	for (int i = 0; i < n; i++)
		offs[i] = 0;
	if ((err = elf_open(path, &fd, &e)))
		return err;
	if (elf_getphdrnum(e, &nphdr))
		nphdr = 0;
	best = calloc(n > 0 ? (size_t)n : 1, sizeof(*best));
	if (!best) {
		err = -ENOMEM;
		goto out;
	}
	/* rank: global beats local, then .symtab beats .dynsym; 0 = not seen */
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;
		size_t nsyms, symsz;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		data = elf_getdata(scn, NULL);
		symsz = gelf_fsize(e, ELF_T_SYM, 1, EV_CURRENT);
		if (!data || !symsz)
			continue;
		nsyms = data->d_size / symsz;
		for (size_t j = 1; j < nsyms; j++) {
			GElf_Sym sym;
			const char *name;
			int type, bind, rank;
			uint64_t off;

			if (!gelf_getsym(data, (int)j, &sym))
				continue;
			type = GELF_ST_TYPE(sym.st_info);
			if ((type != STT_FUNC && type != STT_GNU_IFUNC) || sym.st_shndx == SHN_UNDEF ||
			    !sym.st_value)
				continue;
			name = elf_strptr(e, sh.sh_link, sym.st_name);
			if (!name || !*name)
				continue;
			bind = GELF_ST_BIND(sym.st_info);
			rank = 1 + (bind == STB_GLOBAL || bind == STB_WEAK) * 2 + (sh.sh_type == SHT_SYMTAB);
			for (int i = 0; i < n; i++) {
				if (rank <= best[i] || strcmp(name, names[i]))
					continue;
				off = vaddr_to_offset(e, nphdr, sym.st_value);
				if (!off)
					continue;
				found += !best[i];
				best[i] = rank;
				offs[i] = off;
			}
		}
	}
	err = found;
out:
	free(best);
	elf_end(e);
	close(fd);
	return err;
}

/* The targets of the call and jmp rel32 byte patterns in the first 64 bytes of the function at
 * file offset off (every 0xe8 or 0xe9, decoded or not), into t; how many. */
static int call_targets(int fd, uint64_t off, uint64_t *t, int max)
{
	unsigned char b[64];
	ssize_t n = pread(fd, b, sizeof(b), off);
	int k = 0;

	for (ssize_t i = 0; i + 5 <= n && k < max; i++)
		if (b[i] == 0xe8 || b[i] == 0xe9) {
			int32_t rel;

			memcpy(&rel, b + i + 1, sizeof(rel));
			t[k++] = off + i + 5 + (int64_t)rel;
		}
	return k;
}

static const unsigned char endbr64[4] = { 0xf3, 0x0f, 0x1e, 0xfa };

/* Is the instruction at b (n bytes) a push (0x50-0x57, after a REX.B prefix for r8-r15)? */
static bool is_push(const unsigned char *b, ssize_t n)
{
	return (n >= 1 && (b[0] & 0xf8) == 0x50) || (n >= 2 && b[0] == 0x41 && (b[1] & 0xf8) == 0x50);
}

int elf_exec_range(const char *path, uint64_t off, uint64_t *lo, uint64_t *hi)
{
	int fd, err;
	size_t nphdr = 0;
	Elf *e;

	if ((err = elf_open(path, &fd, &e)))
		return err;
	err = elf_getphdrnum(e, &nphdr) ? -EINVAL : -ENOENT;
	for (size_t i = 0; err == -ENOENT && i < nphdr; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X) &&
		    off >= ph.p_offset && off - ph.p_offset < ph.p_filesz) {
			*lo = ph.p_offset;
			*hi = ph.p_offset + ph.p_filesz;
			err = 0;
		}
	}
	elf_end(e);
	close(fd);
	return err;
}

uint64_t elf_common_callee(int fd, const uint64_t *fo, int n, uint64_t lo, uint64_t hi)
{
	enum { MAXT = 16 };
	uint64_t t[4][MAXT];
	unsigned char b[6];
	int nt[4];

	if (n <= 0 || n > 4)
		return 0;
	for (int f = 0; f < n; f++)
		nt[f] = fo[f] ? call_targets(fd, fo[f], t[f], MAXT) : 0;
	for (int i = 0; i < nt[0]; i++) {
		uint64_t c = t[0][i];
		bool all = c >= lo && c < hi;
		ssize_t got;

		for (int f = 1; f < n && all; f++) {
			all = false;
			for (int j = 0; j < nt[f]; j++)
				all = all || t[f][j] == c;
		}
		if (!all || (got = pread(fd, b, sizeof(b), c)) <= 0)
			continue;
		if (is_push(b, got))
			return c;
		/* a CET build's endbr64 first: the push after it */
		if (got >= 6 && !memcmp(b, endbr64, sizeof(endbr64)) && is_push(b + 4, got - 4))
			return c + 4;
	}
	return 0;
}

uint64_t elf_emulated_site(int fd, uint64_t off)
{
	unsigned char b[16];
	ssize_t n = pread(fd, b, sizeof(b), off), i = 0;

	while (i < n) {
		unsigned char op = b[i], o;
		bool rex = (op & 0xf0) == 0x40;
		ssize_t j = i + rex;

		if (op == 0xe8 || op == 0xe9 || op == 0xeb || is_push(b + i, n - i))
			return off + i;
		if (i + 4 <= n && !memcmp(b + i, endbr64, sizeof(endbr64))) {
			i += 4;                        /* endbr64: no effect but a CET marker */
			continue;
		}
		if (j >= n)
			return 0;
		o = b[j];
		if ((o == 0x31 || o == 0x33 || o == 0x89 || o == 0x8b) && j + 1 < n && (b[j + 1] & 0xc0) == 0xc0)
			i = j + 2;                     /* xor or mov, register to register */
		else if ((o & 0xf8) == 0xb8 && !(rex && (op & 0x08)))
			i = j + 5;                     /* mov $imm32 to a register (not REX.W: imm64) */
		else
			return 0;
	}
	return 0;
}
